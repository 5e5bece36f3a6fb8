"""How many judgements until the ranking is right: random batches against Unity's scheduler.

1,000 items with a latent quality ~ N(0, 1); experts perceive each item's quality plus Thurstone
noise N(0, s^2) and order a batch of 6 by what they perceive; 10% of experts order at random.
Ratings are closed in periods of ``--period`` judgements (same rule for every scheduler).

Baseline: uniformly random batches rated by Glicko-2 (what the platform did before this issue).
Unity: ranking.scheduler.choose_batch on a pool of the least-viewed items, with the consensus fit
(ranking.reliability.consensus_fit: weighted Bradley-Terry, experts weighed by agreement) both
for scheduling and for the final ranking. Intermediate rows show where the gain comes from.

    .venv/bin/python bench/ranking_simulation.py [--seeds 10] [--noise 0.5 1.0]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ranking.fit import ScaleFit, rank_breaking_weights
from ranking.glicko2 import Glicko2Params, PairOutcomes, initial_ratings, rate_period
from ranking.outcomes import ordering_pairs
from ranking.reliability import consensus_fit, relative_agreement, scale_separation_reliability, spearman
from ranking.scheduler import Pool, SchedulerParams, choose_batch, item_set_key, random_batch

N_ITEMS = 1000
BATCH = 6
N_EXPERTS = 20
INCONSISTENT = 0.10
TARGET_RHO = 0.9
FLAG_BELOW, FLAG_MIN_BATCHES = 0.5, 20  # the project defaults (projects.models.Project)


@dataclass
class Trace:
    views: list[float]  # views per item at each checkpoint
    rho_glicko: list[float]
    rho_fit: list[float]
    ssr: list[float]
    stopped_at: list = field(default_factory=list)  # (views/item, stopped experts, random experts)


def run(scheduler: str, noise: float, seed: int, *, max_views: float, period: int) -> Trace:
    world = np.random.default_rng(seed)  # the same items and experts for every scheduler
    quality = world.standard_normal(N_ITEMS)
    inconsistent = np.zeros(N_EXPERTS, bool)
    inconsistent[world.choice(N_EXPERTS, size=round(INCONSISTENT * N_EXPERTS), replace=False)] = True
    rng = np.random.default_rng(seed + 10_000)  # scheduling, expert choice and perception noise
    params = SchedulerParams(batch_size=BATCH)
    gparams = Glicko2Params(tau=0.5, initial_rd=350.0, initial_volatility=0.06)
    ratings = initial_ratings(N_ITEMS, gparams)
    fit = ScaleFit(np.zeros(N_ITEMS), np.full(N_ITEMS, 2.0))
    views = np.zeros(N_ITEMS, np.int64)
    seen_sets: list[set[str]] = [set() for _ in range(N_EXPERTS)]
    first: list[int] = []
    second: list[int] = []
    score: list[float] = []
    expert_of: list[int] = []
    period_start = 0
    trace = Trace([], [], [], [])
    judgements = 0
    batches = np.zeros(N_EXPERTS, np.int64)
    stopped = np.zeros(N_EXPERTS, bool)  # "adaptive-stop": flagged experts get no more batches
    while views.sum() / N_ITEMS < max_views:
        active = np.flatnonzero(~stopped)
        expert = int(active[rng.integers(len(active))])
        batches[expert] += 1
        if scheduler == "random":
            batch = random_batch(N_ITEMS, BATCH, rng)
        else:
            # The pool the live issuer reads: the least-viewed items (random order among equals).
            window = np.lexsort((rng.random(N_ITEMS), views))[: params.window]
            if scheduler == "balanced":
                pool = Pool(window, np.zeros(len(window)), np.ones(len(window)), views[window])
                batch = choose_batch(
                    pool,
                    params=SchedulerParams(batch_size=BATCH, temperature=1e6),
                    rng=rng,
                    exclude_sets=seen_sets[expert],
                )
            else:
                pool = Pool(window, fit.score[window], fit.se[window], views[window])
                batch = choose_batch(pool, params=params, rng=rng, exclude_sets=seen_sets[expert])
            assert batch is not None
        seen_sets[expert].add(item_set_key(batch))
        views[batch] += 1
        judgements += 1
        if inconsistent[expert]:
            ordering = rng.permutation(batch)
        else:
            perceived = quality[batch] + noise * rng.standard_normal(BATCH)
            ordering = batch[np.argsort(-perceived)]  # axis start = best quality
        for a, b, s in ordering_pairs(ordering.tolist()):
            first.append(a)
            second.append(b)
            score.append(s)
            expert_of.append(expert)
        if judgements % period == 0:
            outcomes = PairOutcomes(np.asarray(first), np.asarray(second), np.asarray(score))
            ratings = rate_period(ratings, outcomes.take(slice(period_start, None)), gparams)
            period_start = len(first)
            weights = rank_breaking_weights(np.full(judgements, BATCH))
            fit, agreement = consensus_fit(N_ITEMS, outcomes, weights, np.asarray(expert_of), N_EXPERTS, init=fit.score)
            if scheduler == "adaptive-stop":
                # The platform's flag with the project defaults (quality.services.is_flagged):
                # relative agreement below 0.5 after at least 20 batches.
                relative = relative_agreement(agreement.tau, agreement.pairs)
                stopped |= (batches >= FLAG_MIN_BATCHES) & (np.nan_to_num(relative, nan=1.0) < FLAG_BELOW)
                trace.stopped_at.append((views.sum() / N_ITEMS, stopped.copy(), inconsistent))
            trace.views.append(views.sum() / N_ITEMS)
            trace.rho_glicko.append(spearman(ratings.rating, quality))
            trace.rho_fit.append(spearman(fit.score, quality))
            trace.ssr.append(scale_separation_reliability(fit.score, fit.se))
    return trace


def crossing(xs: list[float], ys: list[float], level: float) -> float:
    """First x where y reaches ``level``, linearly interpolated; inf if never."""
    for i, y in enumerate(ys):
        if y >= level:
            if i == 0:
                return xs[0]
            x0, x1, y0 = xs[i - 1], xs[i], ys[i - 1]
            return x0 + (x1 - x0) * (level - y0) / (y - y0)
    return float("inf")


def value_at(xs: list[float], ys: list[float], x: float) -> float:
    return float(np.interp(x, xs, ys)) if np.isfinite(x) else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--max-views", type=float, default=20.0)
    parser.add_argument("--period", type=int, default=N_ITEMS // BATCH // 2, help="judgements per rating period")
    args = parser.parse_args()
    print(
        f"{N_ITEMS} items, batch {BATCH}, {N_EXPERTS} experts ({INCONSISTENT:.0%} order at random), "
        f"rating period {args.period} judgements, seeds 0..{args.seeds - 1}"
    )
    print("views per item = 6 x judgements per item; figures are means over seeds")
    started = time.perf_counter()
    for noise in args.noise:
        rows = {
            "random batches + Glicko-2 (baseline)": ("random", "rho_glicko"),
            "random batches + consensus fit": ("random", "rho_fit"),
            "balanced random + Glicko-2": ("balanced", "rho_glicko"),
            "Unity scheduler + Glicko-2": ("adaptive", "rho_glicko"),
            "Unity scheduler + consensus fit (Unity)": ("adaptive", "rho_fit"),
            "Unity, flagged experts stopped": ("adaptive-stop", "rho_fit"),
        }
        traces = {
            name: [run(name, noise, seed, max_views=args.max_views, period=args.period) for seed in range(args.seeds)]
            for name in ("random", "balanced", "adaptive", "adaptive-stop")
        }
        print(f"\nThurstone noise s = {noise}")
        grid = [2, 4, 6, 8, 10, 12, 15]
        print(f"{'':42s} rho at views/item " + " ".join(f"{g:>5d}" for g in grid))
        for label, (name, column) in rows.items():
            curves = [np.interp(grid, t.views, getattr(t, column)) for t in traces[name]]
            print(f"{label:42s} {'':18s}" + " ".join(f"{v:5.3f}" for v in np.mean(curves, axis=0)))
        print(f"{'':42s} views/item to rho>={TARGET_RHO}  judgements/item  SSR(fit) there  ratio to baseline")
        base = None
        for label, (name, column) in rows.items():
            needs = [crossing(t.views, getattr(t, column), TARGET_RHO) for t in traces[name]]
            ssrs = [value_at(t.views, t.ssr, x) for t, x in zip(traces[name], needs, strict=True)]
            need = float(np.mean(needs))
            base = need if base is None else base
            print(f"{label:42s} {need:8.2f} {'':10s} {need / BATCH:8.2f} {np.nanmean(ssrs):12.3f} {need / base:14.0%}")
        for level in (0.8, 0.9):
            for name in ("adaptive", "adaptive-stop"):
                needs = [crossing(t.views, t.ssr, level) for t in traces[name]]
                print(f"views/item to SSR(fit) >= {level} ({name}): {float(np.mean(needs)):.2f}")
        hits = found = relevant = 0
        for t in traces["adaptive-stop"]:
            _, stopped, inconsistent = t.stopped_at[-1]
            hits, found = hits + int((stopped & inconsistent).sum()), found + int(stopped.sum())
            relevant += int(inconsistent.sum())
        first = [next((v for v, s, i in t.stopped_at if s[i].all()), float("nan")) for t in traces["adaptive-stop"]]
        print(
            f"flags (stopped experts): precision {hits / max(found, 1):.2f}, recall {hits / max(relevant, 1):.2f}; "
            f"all random experts stopped by {np.nanmean(first):.2f} views/item"
        )
    print(f"\nruntime {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
