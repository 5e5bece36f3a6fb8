"""Glicko-2, vectorised across every item of a rating period. Django-free.

Each item is a "player"; each pair of items in one expert ordering is a "game". Within a rating
period every item's games are processed together against its opponents' ratings from the start
of the period, exactly as in the paper; items without games only gain uncertainty (step 6).

References
----------
.. [1] Glickman, M. E. (2012). "Example of the Glicko-2 system".
   http://www.glicko.net/glicko/glicko2.pdf
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CENTRE",
    "SCALE",
    "Glicko2Params",
    "LazyState",
    "PairOutcomes",
    "Ratings",
    "fold_periods",
    "grown_rd",
    "initial_ratings",
    "rate_period",
    "rate_periods",
]

#: Step 2 of [1]_: the Glicko scale is centred on 1500 with 173.7178 rating points per unit.
CENTRE = 1500.0
SCALE = 173.7178

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Glicko2Params:
    """System constant and the values given to an item that has never been rated."""

    tau: float = 0.5
    initial_rating: float = 1500.0
    initial_rd: float = 350.0
    initial_volatility: float = 0.06
    #: Convergence tolerance of the volatility iteration (step 5 of [1]_).
    epsilon: float = 1e-6


@dataclass(frozen=True)
class Ratings:
    """Rating, rating deviation and volatility of every item, on the Glicko scale."""

    rating: FloatArray
    rd: FloatArray
    volatility: FloatArray

    def __len__(self) -> int:
        return len(self.rating)


@dataclass(frozen=True)
class PairOutcomes:
    """Games as item indices: ``score`` is what ``first`` scored against ``second`` (1, 0.5 or 0)."""

    first: IntArray
    second: IntArray
    score: FloatArray

    def __len__(self) -> int:
        return len(self.first)

    @staticmethod
    def empty() -> PairOutcomes:
        return PairOutcomes(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))

    @staticmethod
    def concatenate(parts: list[PairOutcomes]) -> PairOutcomes:
        if not parts:
            return PairOutcomes.empty()
        return PairOutcomes(
            np.concatenate([p.first for p in parts]),
            np.concatenate([p.second for p in parts]),
            np.concatenate([p.score for p in parts]),
        )

    def take(self, index: slice | IntArray) -> PairOutcomes:
        return PairOutcomes(self.first[index], self.second[index], self.score[index])


def initial_ratings(n: int, params: Glicko2Params) -> Ratings:
    """The state of ``n`` items that have never been rated."""
    return Ratings(
        rating=np.full(n, params.initial_rating, dtype=np.float64),
        rd=np.full(n, params.initial_rd, dtype=np.float64),
        volatility=np.full(n, params.initial_volatility, dtype=np.float64),
    )


def grown_rd(rd: FloatArray | float, volatility: FloatArray | float, idle_periods: IntArray | int) -> FloatArray:
    """RD after ``idle_periods`` periods without games: step 6 of [1]_ applied that many times.

    phi* = sqrt(phi^2 + sigma^2) per period, and sigma does not change while idle, so k periods
    give sqrt(phi^2 + k sigma^2). Lets a store keep an item's state from its last game and
    derive the growth when read, instead of rewriting every idle item each period.
    """
    rd = np.asarray(rd, np.float64)
    k = np.asarray(idle_periods)
    grown = np.sqrt((rd / SCALE) ** 2 + k * np.asarray(volatility, np.float64) ** 2) * SCALE
    return np.where(k > 0, grown, rd)  # exactly the stored value when not idle


def _g(phi: FloatArray) -> FloatArray:
    return 1.0 / np.sqrt(1.0 + 3.0 * phi**2 / np.pi**2)


def _new_volatility(
    phi: FloatArray, sigma: FloatArray, delta: FloatArray, v: FloatArray, *, tau: float, epsilon: float
) -> FloatArray:
    """Step 5 of [1]_: the Illinois algorithm, run on every item at once until each converges."""
    # 5.1
    a = np.log(sigma**2)
    phi2 = phi**2

    def f(x: FloatArray, idx: IntArray | slice) -> FloatArray:
        ex = np.exp(x)
        d2, p2, vv = delta[idx] ** 2, phi2[idx], v[idx]
        return ex * (d2 - p2 - vv - ex) / (2.0 * (p2 + vv + ex) ** 2) - (x - a[idx]) / tau**2

    everyone = slice(None)
    # 5.2
    big = delta**2 > phi2 + v
    B = np.empty_like(a)
    B[big] = np.log(np.maximum(delta[big] ** 2 - phi2[big] - v[big], np.finfo(np.float64).tiny))
    k = np.ones_like(a)
    small = np.flatnonzero(~big)
    while small.size:
        still = f(a[small] - k[small] * tau, small) < 0
        small = small[still]
        k[small] += 1.0
    B[~big] = a[~big] - k[~big] * tau
    A = a.copy()
    # 5.3
    fA = f(A, everyone)
    fB = f(B, everyone)
    # 5.4
    active = np.flatnonzero(np.abs(B - A) > epsilon)
    while active.size:
        Aa, Ba, fAa, fBa = A[active], B[active], fA[active], fB[active]
        C = Aa + (Aa - Ba) * fAa / (fBa - fAa)
        fC = f(C, active)
        swap = fC * fBa <= 0
        A[active] = np.where(swap, Ba, Aa)
        fA[active] = np.where(swap, fBa, fAa / 2.0)
        B[active] = C
        fB[active] = fC
        active = active[np.abs(C - A[active]) > epsilon]
    # 5.5
    return np.exp(A / 2.0)


def rate_period(ratings: Ratings, outcomes: PairOutcomes, params: Glicko2Params) -> Ratings:
    """Rate one period: every item's games together, against pre-period opponent ratings.

    Parameters
    ----------
    ratings
        State at the start of the period (Glicko scale).
    outcomes
        The period's games; each is counted for both items (``score`` and ``1 - score``).
    params
        ``tau`` and the volatility tolerance.

    Returns
    -------
    Ratings
        New state. Items without games keep rating and volatility; their RD grows (step 6).

    References
    ----------
    .. [1] Glickman (2012), "Example of the Glicko-2 system", steps 1-8.
    """
    n = len(ratings)
    # 2. Convert to the Glicko-2 scale.
    mu = (ratings.rating - CENTRE) / SCALE
    phi = ratings.rd / SCALE
    sigma = ratings.volatility
    # Each game seen from both sides: player, opponent, player's score.
    player = np.concatenate([outcomes.first, outcomes.second])
    opponent = np.concatenate([outcomes.second, outcomes.first])
    score = np.concatenate([outcomes.score, 1.0 - outcomes.score])
    # 3. v: estimated variance of the rating from the game outcomes alone.
    g_j = _g(phi[opponent])
    e_j = 1.0 / (1.0 + np.exp(-g_j * (mu[player] - mu[opponent])))
    info = np.bincount(player, weights=g_j**2 * e_j * (1.0 - e_j), minlength=n)
    # 4. Delta: estimated improvement, v times the sum of g(phi_j)(s_j - E_j).
    improvement = np.bincount(player, weights=g_j * (score - e_j), minlength=n)
    played = np.flatnonzero(np.bincount(player, minlength=n) > 0)

    new_mu = mu.copy()
    # 6. (for items without games, this is the whole update)
    new_phi = np.sqrt(phi**2 + sigma**2)
    new_sigma = sigma.copy()
    if played.size:
        v = 1.0 / info[played]
        delta = v * improvement[played]
        # 5. New volatility.
        sig = _new_volatility(phi[played], sigma[played], delta, v, tau=params.tau, epsilon=params.epsilon)
        # 6. Pre-rating-period value.
        phi_star = np.sqrt(phi[played] ** 2 + sig**2)
        # 7. New phi and mu.
        phi_new = 1.0 / np.sqrt(1.0 / phi_star**2 + 1.0 / v)
        new_mu[played] = mu[played] + phi_new**2 * improvement[played]
        new_phi[played] = phi_new
        new_sigma[played] = sig
    # 8. Back to the Glicko scale.
    return Ratings(rating=new_mu * SCALE + CENTRE, rd=new_phi * SCALE, volatility=new_sigma)


def rate_periods(
    ratings: Ratings, outcomes: PairOutcomes, period_of_outcome: IntArray, params: Glicko2Params
) -> Ratings:
    """Rate consecutive periods: ``period_of_outcome`` is non-decreasing, one label per game.

    Periods are taken in order of their labels; a label with no games is not a period.
    """
    if len(outcomes) == 0:
        return ratings
    bounds = np.flatnonzero(np.diff(period_of_outcome)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(outcomes)]])
    for start, end in zip(starts, ends, strict=True):
        ratings = rate_period(ratings, outcomes.take(slice(start, end)), params)
    return ratings


@dataclass(frozen=True)
class LazyState:
    """Ratings as stored: each item's state from the period it was last rated (``rated``, a count
    of periods), its views; an item's RD at period count P is ``grown_rd(rd, volatility,
    P - rated)`` (0 idle periods for an item never viewed, which keeps the initial state)."""

    ratings: Ratings
    views: IntArray
    rated: IntArray

    def idle(self, periods: int) -> IntArray:
        return (self.views > 0) * (periods - self.rated)

    def at(self, periods: int) -> Ratings:
        """The full state at period count ``periods`` (idle RD growth applied)."""
        r = self.ratings
        return Ratings(r.rating, grown_rd(r.rd, r.volatility, self.idle(periods)), r.volatility)


def fold_periods(
    state: LazyState,
    outcomes: PairOutcomes,
    outcome_period: IntArray,
    viewed: IntArray,
    viewed_period: IntArray,
    *,
    periods: IntArray,
    first_period: int,
    params: Glicko2Params,
) -> NDArray[np.bool_]:
    """Rate consecutive periods into ``state`` (in place), touching only items that were viewed.

    ``outcome_period`` and ``viewed_period`` label each game and each view (an item index in
    ``viewed``) with its period; ``periods`` lists the labels in order (a period may have no
    games), the first being period count ``first_period``. Each period is rated from the state at its start (idle RD growth
    derived, step 6); only items viewed in it take the new state and ``rated`` = its count + 1.
    The others keep their stored state: their growth stays derived. Returns which items changed.
    """
    n = len(state.ratings)
    changed = np.zeros(n, bool)
    for k, period in enumerate(periods.tolist()):
        count = first_period + k
        new = rate_period(state.at(count), outcomes.take(np.flatnonzero(outcome_period == period)), params)
        seen = viewed[viewed_period == period]
        touched = np.zeros(n, bool)
        touched[seen] = True
        for array, value in zip(
            (state.ratings.rating, state.ratings.rd, state.ratings.volatility),
            (new.rating, new.rd, new.volatility),
            strict=True,
        ):
            array[touched] = value[touched]
        state.rated[touched] = count + 1
        np.add.at(state.views, seen, 1)
        changed |= touched
    return changed
