"""A batch maximum-likelihood fit of all orderings: weighted Bradley-Terry with draws. Django-free.

Glicko-2 updates item by item in rating periods; this fit looks at the whole log at once and
gives the consensus scale that reliability, ranks and the scheduler use. Each ordering of ``k``
items is broken into its ``k(k-1)/2`` pairs, weighted so that one ordering carries the information
of ``k-1`` comparisons rather than pretending its pairs are independent games; pairs adjacent in
the ordering weigh twice the others (with Thurstone-like perception a distant pair is mostly
implied by the adjacent ones between them; measured in bench/ranking_variants.py).
Each expert's pairs are also weighted by that expert's reliability (Crowd-BT's idea, estimated
from agreement with the consensus; see :mod:`ranking.reliability`).

References
----------
.. [1] Bradley, R. A., Terry, M. E. (1952). "Rank analysis of incomplete block designs: I. The
   method of paired comparisons". Biometrika 39(3/4).
.. [2] Hunter, D. R. (2004). "MM algorithms for generalized Bradley-Terry models". Ann. Statist. 32(1).
.. [3] Azari Soufiani, H., Parkes, D., Xia, L. (2014). "Computing parametric ranking models via
   rank-breaking". ICML.
.. [4] Chen, X., Bennett, P. N., Collins-Thompson, K., Horvitz, E. (2013). "Pairwise ranking
   aggregation in a crowdsourced setting" (Crowd-BT). WSDM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ranking.glicko2 import PairOutcomes

__all__ = ["ADJACENT_WEIGHT", "FitParams", "ScaleFit", "fit_bradley_terry", "rank_breaking_weights"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class FitParams:
    #: Gaussian prior on each score (logit units): keeps unseen or unbeaten items finite.
    prior_sd: float = 2.0
    newton_steps: int = 12
    cg_steps: int = 60
    tolerance: float = 1e-6


@dataclass(frozen=True)
class ScaleFit:
    """Scores on the logit scale (mean 0 over items with games) and their standard errors."""

    score: FloatArray
    se: FloatArray


#: Weight of a pair adjacent in the ordering relative to the other pairs (1 = uniform breaking).
ADJACENT_WEIGHT = 2.0


def rank_breaking_weights(sizes: IntArray, *, adjacent: float = ADJACENT_WEIGHT) -> FloatArray:
    """Weights of the pairs of orderings of ``sizes`` items, in the order ``ordering_pairs`` gives them.

    Rank-breaking ([3]_): every pair of an ordering of k items is a game; adjacent pairs weigh
    ``adjacent`` times the others, and each ordering's weights sum to k-1 (``adjacent = 1``
    gives the uniform 2/k). Orderings of fewer than 2 items give no pairs.
    """
    parts = []
    cache: dict[int, FloatArray] = {}
    for k in np.asarray(sizes, np.int64).tolist():
        if k not in cache:
            first, second = np.triu_indices(k, k=1)
            raw = np.where(second - first == 1, adjacent, 1.0)
            cache[k] = raw * (k - 1) / raw.sum() if k > 1 else raw
        parts.append(cache[k])
    return np.concatenate(parts) if parts else np.empty(0)


def _sigmoid(x: FloatArray) -> FloatArray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def fit_bradley_terry(
    n: int,
    outcomes: PairOutcomes,
    weights: FloatArray | None = None,
    *,
    params: FitParams = FitParams(),
    init: FloatArray | None = None,
) -> ScaleFit:
    """Maximum a-posteriori Bradley-Terry scores by Newton's method with conjugate gradients.

    Parameters
    ----------
    n
        Number of items.
    outcomes
        Games; a draw (score 0.5) counts as half a win for each side, as in [2]_.
    weights
        Per game (rank-breaking and expert reliability); 1 when omitted.
    params
        Prior and iteration limits.
    init
        Starting scores (a warm start converges to the same optimum: the objective is concave).

    Returns
    -------
    ScaleFit
        Scores and standard errors ``1/sqrt(H_ii)`` from the diagonal of the Hessian
        (ignores covariance between items; adequate for well-connected designs).
    """
    a, b, s = outcomes.first, outcomes.second, outcomes.score
    w = np.ones(len(a)) if weights is None else np.asarray(weights, np.float64)
    lam = 1.0 / params.prior_sd**2
    played = np.bincount(a, minlength=n) + np.bincount(b, minlength=n) > 0
    if len(a) and not played.all():
        # Items without games sit at the prior's mode (0, then the centring shift) with SE =
        # prior SD: fit only the played ones (a biobank project's pool is mostly unseen early on).
        index = np.flatnonzero(played)
        local = np.full(n, -1, np.int64)
        local[index] = np.arange(len(index))
        inner = fit_bradley_terry(
            len(index),
            PairOutcomes(local[a], local[b], s),
            w,
            params=params,
            init=None if init is None else np.asarray(init, np.float64)[index],
        )
        score, se = np.zeros(n), np.full(n, params.prior_sd)
        score[index], se[index] = inner.score, inner.se
        return ScaleFit(score=score, se=se)
    theta = np.zeros(n) if init is None else np.array(init, np.float64)

    def hess_vec(x: FloatArray, c: FloatArray) -> FloatArray:
        d = c * (x[a] - x[b])
        return np.bincount(a, weights=d, minlength=n) - np.bincount(b, weights=d, minlength=n) + lam * x

    for _ in range(params.newton_steps):
        p = _sigmoid(theta[a] - theta[b])
        r = w * (s - p)
        grad = np.bincount(a, weights=r, minlength=n) - np.bincount(b, weights=r, minlength=n) - lam * theta
        if np.max(np.abs(grad), initial=0.0) < params.tolerance:
            break
        c = w * p * (1.0 - p)
        diag = np.bincount(a, weights=c, minlength=n) + np.bincount(b, weights=c, minlength=n) + lam
        step = _preconditioned_cg(lambda x, c=c: hess_vec(x, c), grad, diag, params.cg_steps)
        theta = theta + step
    p = _sigmoid(theta[a] - theta[b])
    c = w * p * (1.0 - p)
    diag = np.bincount(a, weights=c, minlength=n) + np.bincount(b, weights=c, minlength=n) + lam
    if played.any():
        theta = theta - theta[played].mean()
    return ScaleFit(score=theta, se=1.0 / np.sqrt(diag))


def _preconditioned_cg(
    matvec: Callable[[FloatArray], FloatArray], rhs: FloatArray, diag: FloatArray, steps: int
) -> FloatArray:
    """Solve ``H x = rhs`` for symmetric positive definite ``H`` with a Jacobi preconditioner."""
    x = np.zeros_like(rhs)
    r = rhs.copy()
    z = r / diag
    p = z.copy()
    rz = float(r @ z)
    stop = 1e-10 * float(rhs @ rhs)
    for _ in range(steps):
        hp = matvec(p)
        alpha = rz / float(p @ hp)
        x += alpha * p
        r -= alpha * hp
        if float(r @ r) <= stop:
            break
        z = r / diag
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x
