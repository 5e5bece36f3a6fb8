"""Full Glicko-2 recompute of 1,000,000 pairwise outcomes over 100,000 items, beside the glicko2
PyPI package's per-player loop on the same data, in the same run.

The package is timed on a subset of each period's players (``--package-players``) and
extrapolated by games processed, because the whole run would take minutes; the printout says so.

    .venv/bin/python bench/ranking_throughput.py [--periods 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ranking.fit import fit_bradley_terry, rank_breaking_weights
from ranking.glicko2 import Glicko2Params, PairOutcomes, initial_ratings, rate_period, rate_periods

N_ITEMS = 100_000
N_OUTCOMES = 1_000_000


def make_outcomes(rng: np.random.Generator) -> PairOutcomes:
    """Orderings of 6 random items (15 pairs each) from a latent quality with Thurstone noise."""
    quality = rng.standard_normal(N_ITEMS)
    n_orderings = N_OUTCOMES // 15 + 1
    batches = np.argsort(rng.random((n_orderings, N_ITEMS // 1000)), axis=1)[:, :6]  # distinct columns
    batches = batches * 1000 + rng.integers(0, 1000, size=(n_orderings, 1))  # distinct items per row
    batches %= N_ITEMS
    perceived = quality[batches] + rng.standard_normal(batches.shape)
    ordered = np.take_along_axis(batches, np.argsort(-perceived, axis=1), axis=1)
    i, j = np.triu_indices(6, k=1)
    first = ordered[:, i].ravel()[:N_OUTCOMES]
    second = ordered[:, j].ravel()[:N_OUTCOMES]
    return PairOutcomes(first.astype(np.int64), second.astype(np.int64), np.ones(N_OUTCOMES))


def package_period_time(
    ratings_r: np.ndarray, ratings_rd: np.ndarray, vol: np.ndarray, period: PairOutcomes, players: np.ndarray
) -> tuple[float, int]:
    """The package's loop: one Player per item, update_player with its games. Returns (s, games)."""
    import glicko2

    player_side = np.concatenate([period.first, period.second])
    opponent = np.concatenate([period.second, period.first])
    score = np.concatenate([period.score, 1.0 - period.score])
    order = np.argsort(player_side, kind="stable")
    player_side, opponent, score = player_side[order], opponent[order], score[order]
    starts = np.searchsorted(player_side, players)
    ends = np.searchsorted(player_side, players, side="right")
    games = 0
    started = time.perf_counter()
    for p, s, e in zip(players, starts, ends, strict=True):
        if s == e:
            continue
        player = glicko2.Player(rating=float(ratings_r[p]), rd=float(ratings_rd[p]), vol=float(vol[p]))
        opp = opponent[s:e]
        player.update_player(ratings_r[opp].tolist(), ratings_rd[opp].tolist(), score[s:e].tolist())
        games += e - s
    return time.perf_counter() - started, games


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=20)
    parser.add_argument("--package-players", type=int, default=2000, help="players timed per period")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    outcomes = make_outcomes(rng)
    labels = np.repeat(np.arange(args.periods), -(-N_OUTCOMES // args.periods))[:N_OUTCOMES]
    params = Glicko2Params()
    print(f"{N_OUTCOMES:,} outcomes, {N_ITEMS:,} items, {args.periods} rating periods")

    times = []
    for _ in range(3):
        started = time.perf_counter()
        rate_periods(initial_ratings(N_ITEMS, params), outcomes, labels, params)
        times.append(time.perf_counter() - started)
    ours_s = min(times)
    print(f"ranking.glicko2 full recompute: {ours_s:.3f} s (best of 3; runs {', '.join(f'{t:.3f}' for t in times)})")

    # The package, on the same periods, from the same states (ours give each period's start).
    state = initial_ratings(N_ITEMS, params)
    package_s = 0.0
    package_games = 0
    bounds = np.flatnonzero(np.diff(labels)) + 1
    for period in np.split(np.arange(N_OUTCOMES), bounds):
        part = outcomes.take(period)
        players = rng.choice(N_ITEMS, size=args.package_players, replace=False)
        s, g = package_period_time(state.rating, state.rd, state.volatility, part, players)
        package_s += s
        package_games += g
        state = rate_period(state, part, params)
    per_game = package_s / package_games
    package_total = per_game * 2 * N_OUTCOMES  # every outcome is a game for both items
    print(
        f"glicko2 package per-player loop: {package_s:.2f} s for {package_games:,} player-games "
        f"({args.package_players} players per period), extrapolated to {2 * N_OUTCOMES:,} player-games: "
        f"{package_total:.1f} s"
    )
    print(f"speed-up: {package_total / ours_s:.0f}x (target >= 50x); ours under 5 s: {ours_s < 5}")

    started = time.perf_counter()
    fit_bradley_terry(N_ITEMS, outcomes, rank_breaking_weights(np.full(N_OUTCOMES // 15 + 1, 6))[:N_OUTCOMES])
    print(f"(for reference) Bradley-Terry consensus fit of the same outcomes: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
