"""Glicko-2 against the paper: its worked example, and a scalar transcription of steps 1-8."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ranking.glicko2 import Glicko2Params, PairOutcomes, Ratings, rate_period, rate_periods

PARAMS = Glicko2Params(tau=0.5)


def reference_update(
    rating: float, rd: float, sigma: float, games: list[tuple[float, float, float]], tau: float
) -> tuple[float, float, float]:
    """Glickman (2012), steps 1-8, written out one scalar at a time. ``games`` = (r_j, RD_j, s_j)."""
    # Step 2
    mu, phi = (rating - 1500) / 173.7178, rd / 173.7178
    if not games:
        return rating, math.sqrt(phi**2 + sigma**2) * 173.7178, sigma
    opp = [((r - 1500) / 173.7178, d / 173.7178, s) for r, d, s in games]

    def g(p: float) -> float:
        return 1 / math.sqrt(1 + 3 * p**2 / math.pi**2)

    def E(mu_j: float, phi_j: float) -> float:
        return 1 / (1 + math.exp(-g(phi_j) * (mu - mu_j)))

    # Step 3
    v = 1 / sum(g(pj) ** 2 * E(mj, pj) * (1 - E(mj, pj)) for mj, pj, _ in opp)
    # Step 4
    delta = v * sum(g(pj) * (s - E(mj, pj)) for mj, pj, s in opp)
    # Step 5
    a = math.log(sigma**2)

    def f(x: float) -> float:
        ex = math.exp(x)
        return ex * (delta**2 - phi**2 - v - ex) / (2 * (phi**2 + v + ex) ** 2) - (x - a) / tau**2

    A = a
    if delta**2 > phi**2 + v:
        B = math.log(delta**2 - phi**2 - v)
    else:
        k = 1
        while f(a - k * tau) < 0:
            k += 1
        B = a - k * tau
    fA, fB = f(A), f(B)
    while abs(B - A) > 1e-6:
        C = A + (A - B) * fA / (fB - fA)
        fC = f(C)
        if fC * fB <= 0:
            A, fA = B, fB
        else:
            fA = fA / 2
        B, fB = C, fC
    sigma_new = math.exp(A / 2)
    # Step 6
    phi_star = math.sqrt(phi**2 + sigma_new**2)
    # Step 7
    phi_new = 1 / math.sqrt(1 / phi_star**2 + 1 / v)
    mu_new = mu + phi_new**2 * sum(g(pj) * (s - E(mj, pj)) for mj, pj, s in opp)
    # Step 8
    return 173.7178 * mu_new + 1500, 173.7178 * phi_new, sigma_new


def state(*rows: tuple[float, float, float]) -> Ratings:
    r, d, s = zip(*rows, strict=True)
    return Ratings(np.array(r, float), np.array(d, float), np.array(s, float))


def games(*rows: tuple[int, int, float]) -> PairOutcomes:
    a, b, s = zip(*rows, strict=True)
    return PairOutcomes(np.array(a, np.int64), np.array(b, np.int64), np.array(s, float))


def test_the_papers_worked_example_is_reproduced():
    # Player 0 at 1500/200/0.06 beats 1400/30, loses to 1550/100 and to 1700/300.
    start = state((1500, 200, 0.06), (1400, 30, 0.06), (1550, 100, 0.06), (1700, 300, 0.06))
    after = rate_period(start, games((0, 1, 1.0), (0, 2, 0.0), (3, 0, 1.0)), PARAMS)
    assert after.rating[0] == pytest.approx(1464.06, abs=0.01)
    assert after.rd[0] == pytest.approx(151.52, abs=0.01)
    assert after.volatility[0] == pytest.approx(0.05999, abs=1e-5)


def test_the_worked_example_scalar_reference_agrees_with_the_paper():
    # Guards the reference itself, so the comparisons below compare against the paper.
    r, d, s = reference_update(1500, 200, 0.06, [(1400, 30, 1), (1550, 100, 0), (1700, 300, 0)], 0.5)
    assert (r, d, s) == pytest.approx((1464.06, 151.52, 0.05999), abs=0.01)
    assert s == pytest.approx(0.05999, abs=1e-5)


@pytest.mark.parametrize(
    ("player", "opponents", "tau"),
    [
        # Far from 1500, with surprising results: the volatility equation matters here.
        ((2100, 80, 0.06), [(1400, 30, 0), (1550, 100, 0), (1700, 300, 0.5)], 0.5),
        ((900, 250, 0.09), [(2000, 60, 1), (1950, 120, 1), (1200, 40, 0)], 0.3),
        ((1800, 50, 0.04), [(1810, 50, 1), (1790, 60, 0), (1805, 45, 1), (1700, 350, 0)], 1.2),
        ((1200, 350, 0.06), [(1500, 350, 1)], 0.5),
    ],
)
def test_updates_away_from_1500_follow_the_papers_equations(player, opponents, tau):
    rows = [player] + [(r, d, 0.06) for r, d, _ in opponents]
    outcome = games(*[(0, j + 1, s) for j, (_, _, s) in enumerate(opponents)])
    after = rate_period(state(*rows), outcome, Glicko2Params(tau=tau))
    expected = reference_update(*player, opponents, tau)
    assert (after.rating[0], after.rd[0], after.volatility[0]) == pytest.approx(expected, rel=1e-7)


def test_the_pypi_package_is_not_the_reference_away_from_1500():
    # Why the reference above is written out from the paper (see docs/ranking.md).
    import glicko2

    player = glicko2.Player(rating=2100, rd=80, vol=0.06)
    player.update_player([1400, 1550, 1700], [30, 100, 300], [0, 0, 0.5])
    ours = rate_period(
        state((2100, 80, 0.06), (1400, 30, 0.06), (1550, 100, 0.06), (1700, 300, 0.06)),
        games((0, 1, 0), (0, 2, 0), (0, 3, 0.5)),
        PARAMS,
    )
    assert ours.volatility[0] == pytest.approx(
        reference_update(2100, 80, 0.06, [(1400, 30, 0), (1550, 100, 0), (1700, 300, 0.5)], 0.5)[2]
    )
    # The package evaluates f(x) with mu^2 where the paper has phi^2; our iteration is exact to ~1e-8.
    assert abs(player.vol - ours.volatility[0]) > 1e-5


def test_an_item_without_games_only_grows_uncertain():
    after = rate_period(state((1700, 100, 0.06), (1500, 200, 0.06)), PairOutcomes.empty(), PARAMS)
    assert after.rating[0] == 1700
    assert after.volatility[0] == 0.06
    assert after.rd[0] == pytest.approx(math.hypot(100 / 173.7178, 0.06) * 173.7178)


def test_every_item_of_a_period_is_rated_as_if_alone_against_pre_period_ratings():
    rng = np.random.default_rng(7)
    n = 40
    start = state(*[(rng.uniform(1000, 2000), rng.uniform(30, 350), rng.uniform(0.03, 0.09)) for _ in range(n)])
    pairs = [(int(a), int(b), float(rng.choice([0, 0.5, 1]))) for a, b in rng.integers(0, n, size=(150, 2)) if a != b]
    after = rate_period(start, games(*pairs), PARAMS)
    for i in range(n):
        mine = [(start.rating[b], start.rd[b], s) for a, b, s in pairs if a == i]
        mine += [(start.rating[a], start.rd[a], 1 - s) for a, b, s in pairs if b == i]
        expected = reference_update(start.rating[i], start.rd[i], start.volatility[i], mine, 0.5)
        assert (after.rating[i], after.rd[i], after.volatility[i]) == pytest.approx(expected, rel=1e-7)


def test_consecutive_periods_are_rated_in_turn():
    start = state((1500, 350, 0.06), (1500, 350, 0.06), (1500, 350, 0.06))
    outcome = games((0, 1, 1), (1, 2, 1), (0, 2, 0.5), (2, 0, 0))
    by_label = rate_periods(start, outcome, np.array([0, 0, 3, 3]), PARAMS)
    step = rate_period(rate_period(start, outcome.take(slice(0, 2)), PARAMS), outcome.take(slice(2, 4)), PARAMS)
    np.testing.assert_allclose(by_label.rating, step.rating)
    np.testing.assert_allclose(by_label.rd, step.rd)
