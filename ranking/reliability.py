"""How far the ranking can be trusted, and when to stop asking. Django-free.

References
----------
.. [1] Pollitt, A. (2012). "The method of Adaptive Comparative Judgement". Assessment in
   Education 19(3): scale separation reliability.
.. [2] Verhavert, S., Bouwer, R., Donche, V., De Maeyer, S. (2019). "A meta-analysis on the
   reliability of comparative judgement". Assessment in Education 26(5): SSR >= 0.8, about
   10 comparisons per item.
.. [3] Spearman, C. (1910); Brown, W. (1910): the split-half correction 2r/(1+r).
.. [4] Chen, X. et al. (2013). "Pairwise ranking aggregation in a crowdsourced setting" (Crowd-BT).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from ranking.fit import FitParams, ScaleFit, fit_bradley_terry
from ranking.glicko2 import PairOutcomes

__all__ = [
    "ExpertAgreement",
    "RankInterval",
    "consensus_fit",
    "expert_agreement",
    "rank_intervals",
    "relative_agreement",
    "scale_separation_reliability",
    "spearman",
    "split_half_reliability",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def scale_separation_reliability(score: FloatArray, se: FloatArray) -> float:
    """SSR = (observed variance - mean error variance) / observed variance, in [0, 1] ([1]_)."""
    if len(score) < 2:
        return 0.0
    observed = float(np.var(score, ddof=1))
    if observed <= 0:
        return 0.0
    return float(np.clip((observed - float(np.mean(se**2))) / observed, 0.0, 1.0))


def _ranks(x: FloatArray) -> FloatArray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    return ranks


def spearman(x: FloatArray, y: FloatArray) -> float:
    """Spearman's rho (ties broken by position; scores here are continuous)."""
    if len(x) < 2:
        return 0.0
    rx, ry = _ranks(np.asarray(x)), _ranks(np.asarray(y))
    return float(np.corrcoef(rx, ry)[0, 1])


@dataclass(frozen=True)
class ExpertAgreement:
    """Per expert: Kendall tau between their pairs and the consensus, and whether it stands out."""

    tau: FloatArray
    pairs: IntArray
    weight: FloatArray
    flagged: NDArray[np.bool_]


def expert_agreement(
    outcomes: PairOutcomes, expert: IntArray, n_experts: int, score: FloatArray, *, prior_pairs: float = 30.0
) -> ExpertAgreement:
    """Kendall tau of each expert's decided pairs against the consensus order.

    Over an expert's pairs (draws left out), tau = (concordant - discordant) / pairs. The fit
    weight is tau shrunk towards the median expert by ``prior_pairs`` pseudo-pairs, divided by
    that median and clipped to [0, 1]: an expert who orders at random gets a weight near 0
    (Crowd-BT's reliability, [4]_, estimated by agreement instead of EM). An expert is flagged
    when their tau is below half the median, or more than three robust deviations below it.
    """
    decided = outcomes.score != 0.5
    diff = score[outcomes.first[decided]] - score[outcomes.second[decided]]
    sign = np.where(outcomes.score[decided] > 0.5, 1.0, -1.0) * np.sign(diff)
    who = expert[decided]
    pairs = np.bincount(who, minlength=n_experts)
    agree = np.bincount(who, weights=sign, minlength=n_experts)
    tau = np.divide(agree, pairs, out=np.zeros(n_experts), where=pairs > 0)
    active = pairs > 0
    median = float(np.median(tau[active])) if active.any() else 0.0
    if median <= 0:
        weight = np.ones(n_experts)
        flagged = np.zeros(n_experts, bool)
    else:
        shrunk = (agree + prior_pairs * median) / (pairs + prior_pairs)
        weight = np.clip(shrunk / median, 0.0, 1.0)
        mad = float(np.median(np.abs(tau[active] - median))) * 1.4826
        spread = max(mad, 0.05)
        flagged = active & ((tau < 0.5 * median) | (tau < median - 3.0 * spread))
    return ExpertAgreement(tau=tau, pairs=pairs, weight=weight, flagged=flagged)


def relative_agreement(tau: FloatArray, pairs: IntArray) -> FloatArray:
    """Each expert's tau divided by the median tau of the experts with pairs: 1 = as the typical
    expert, 0 = at random; NaN without pairs, or when the median expert does not agree at all.
    Experts are flagged when this falls below the project's threshold (quality.reliability)."""
    tau, active = np.asarray(tau, float), np.asarray(pairs) > 0
    median = float(np.median(tau[active])) if active.any() else 0.0
    if median <= 0:
        return np.full(len(tau), np.nan)
    return np.where(active, tau / median, np.nan)


def consensus_fit(
    n: int,
    outcomes: PairOutcomes,
    pair_weight: FloatArray,
    expert: IntArray,
    n_experts: int,
    *,
    rounds: int = 2,
    params: FitParams = FitParams(),  # noqa: B008 - frozen, immutable default
    init: FloatArray | None = None,
    fixed_weight: FloatArray | None = None,
) -> tuple[ScaleFit, ExpertAgreement]:
    """Fit, weigh each expert by agreement with that fit, and refit (``rounds`` times).

    ``fixed_weight``: per expert, a weight the admin decided (0 excluded, 1 trusted or every
    expert equal), NaN where the fit estimates it. Fixed weights hold from the first fit on."""
    fixed = np.full(n_experts, np.nan) if fixed_weight is None else np.asarray(fixed_weight, float)

    def decided(agreement: ExpertAgreement) -> ExpertAgreement:
        return replace(agreement, weight=np.where(np.isnan(fixed), agreement.weight, fixed))

    fit = fit_bradley_terry(n, outcomes, pair_weight * np.nan_to_num(fixed, nan=1.0)[expert], params=params, init=init)
    agreement = decided(expert_agreement(outcomes, expert, n_experts, fit.score))
    for _ in range(rounds):
        fit = fit_bradley_terry(n, outcomes, pair_weight * agreement.weight[expert], params=params, init=fit.score)
        agreement = decided(expert_agreement(outcomes, expert, n_experts, fit.score))
    return fit, agreement


#: The halves' fits feed one correlation: a gradient below 0.01 logit and at most 20 CG steps per
#: Newton step give the same reliability to 5 decimals as the consensus fit's 1e-6 (20,000 items,
#: 1,000,000 pairs: 0.90081 and 0.89974 both ways) in half the time (split-half fits are most of a
#: fold's work).
SPLIT_HALF_FIT = FitParams(tolerance=1e-2, cg_steps=20)


def split_half_reliability(
    n: int,
    outcomes: PairOutcomes,
    pair_weight: FloatArray,
    group: IntArray,
    *,
    rng: np.random.Generator,
    repeats: int = 5,
    params: FitParams = SPLIT_HALF_FIT,
) -> float:
    """Split the groups (experts, or judgements) into random halves, fit each, correlate.

    Returns the mean over ``repeats`` of the Spearman-Brown corrected Pearson correlation of the
    two halves' scores over items seen in both halves ([3]_).
    """
    groups = np.unique(group)
    if len(groups) < 2:
        return float("nan")
    values = []
    for _ in range(repeats):
        half = rng.permutation(groups)[: len(groups) // 2]
        in_first = np.isin(group, half)
        fits = []
        seen = np.ones(n, bool)
        for mask in (in_first, ~in_first):
            part = outcomes.take(np.flatnonzero(mask))
            fits.append(fit_bradley_terry(n, part, pair_weight[mask], params=params).score)
            seen &= np.bincount(np.concatenate([part.first, part.second]), minlength=n) > 0
        if seen.sum() < 3:
            continue
        r = float(np.corrcoef(fits[0][seen], fits[1][seen])[0, 1])
        values.append(2 * r / (1 + r) if r > -1 else -1.0)
    return float(np.mean(values)) if values else float("nan")


@dataclass(frozen=True)
class RankInterval:
    """Rank 1 = nearest the axis start; ``low``-``high`` a 95% interval."""

    rank: IntArray
    low: IntArray
    high: IntArray


#: Columns of the draws matrix sorted at a time for the percentiles (bounds the copy np.percentile made).
_INTERVAL_CHUNK = 16_384


def rank_intervals(fit: ScaleFit, *, rng: np.random.Generator, draws: int = 200) -> RankInterval:
    """Ranks, with intervals from draws of each score from N(score, se^2).

    The bounds are the draws' 2.5th percentile rounded down and 97.5th rounded up (numpy's
    ``method="lower"`` / ``"higher"``). Memory: one int32 draws x items matrix (at most 80 MB:
    draws are capped at 20,000,000 ranks) and the sort of one chunk of its columns at a time.
    """
    n = len(fit.score)
    rank = np.empty(n, np.int64)
    rank[np.argsort(-fit.score, kind="stable")] = np.arange(1, n + 1)
    if n == 0:
        return RankInterval(rank, rank.copy(), rank.copy())
    draws = max(20, min(draws, 20_000_000 // max(n, 1)))
    sampled = np.empty((draws, n), np.int32)
    positions = np.arange(1, n + 1, dtype=np.int32)
    for d in range(draws):
        noisy = fit.score + fit.se * rng.standard_normal(n)
        sampled[d, np.argsort(-noisy)] = positions
        del noisy
    lower, upper = int(np.floor(0.025 * (draws - 1))), int(np.ceil(0.975 * (draws - 1)))
    low, high = np.empty(n, np.int64), np.empty(n, np.int64)
    for start in range(0, n, _INTERVAL_CHUNK):
        part = np.sort(sampled[:, start : start + _INTERVAL_CHUNK], axis=0)
        low[start : start + _INTERVAL_CHUNK] = part[lower]
        high[start : start + _INTERVAL_CHUNK] = part[upper]
    return RankInterval(rank=rank, low=low, high=high)
