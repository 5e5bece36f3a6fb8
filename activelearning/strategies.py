"""Query strategies: which unlabelled items an expert should label next. Django-free.

One entry point, :func:`select`, over numpy arrays aligned with ``pool_index`` (the ids of the
unlabelled items). Uncertainty scores come from scikit-activeml where it has them (least
confidence, margin, entropy: ``uncertainty_scores``; BALD: ``batch_bald`` with a batch of one);
MC variance and k-center greedy are short formulas written here (see activelearning/README.md for
why, and for the figures of bench/learning_simulation.py).

Strategies
----------
``random``            uniform without replacement.
``least_confidence``  ``1 - max_c p_c`` [1]_.
``margin``            smallest gap between the two most probable classes [1]_.
``entropy``           ``-sum_c p_c log p_c`` of the (MC-averaged) prediction [1]_.
``bald``              mutual information between prediction and weights over MC passes [2]_, [3]_.
``variance``          mean over outputs of the variance across MC passes [3]_, [4]_ (any outputs:
                      class probabilities, or landmark coordinates with NaN for absent ones).
``coreset``           k-center greedy on embeddings, labelled items as the first centres [5]_.
``hybrid``            the ``hybrid_factor * batch`` most uncertain items (by ``hybrid_uncertainty``),
                      then k-center greedy among them [6]_: uncertain, and no two alike.
``cold_start``        k-center greedy before any label exists, from the medoid (closest to the mean).
``cold_start_kmeans`` k-means with ``batch`` clusters, the item nearest each centre [7]_.

Uncertainty strategies take the ``batch`` highest scores (ties broken by ``rng``), so a batch can
hold near-duplicates; ``hybrid`` and the diversity strategies never return two items with the
same embedding (nor one equal to a labelled item's) and return fewer than ``batch`` items only
when the pool holds fewer distinct embeddings.

References
----------
.. [1] Settles, B. (2009). "Active learning literature survey". University of Wisconsin-Madison.
.. [2] Houlsby, N. et al. (2011). "Bayesian active learning for classification and preference
   learning". arXiv:1112.5745.
.. [3] Gal, Y., Islam, R. and Ghahramani, Z. (2017). "Deep Bayesian active learning with image
   data". ICML.
.. [4] baal's ``Variance`` heuristic (ElementAI/baal, ``baal.active.heuristics.Variance``): the
   variance over MC passes, averaged over the other axes; the same formula here.
.. [5] Sener, O. and Savarese, S. (2018). "Active learning for convolutional neural networks: a
   core-set approach". ICLR.
.. [6] Zhdanov, F. (2019). "Diverse mini-batch active learning". arXiv:1901.05954 (prefilter the
   most informative items, then choose diverse ones among them).
.. [7] Hacohen, G., Dekel, A. and Weinshall, D. (2022). "Active learning on a budget: opposite
   strategies suit high and low budgets". ICML (typical items of clusters for a cold start).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from skactiveml.pool import batch_bald, uncertainty_scores
from sklearn.cluster import KMeans

__all__ = [
    "STRATEGIES",
    "Strategy",
    "bald",
    "diverse_top",
    "k_center_greedy",
    "kmeans_representatives",
    "mc_variance",
    "min_sq_distances",
    "select",
    "uncertainty",
]

Strategy = Literal[
    "random",
    "least_confidence",
    "margin",
    "entropy",
    "bald",
    "variance",
    "coreset",
    "hybrid",
    "cold_start",
    "cold_start_kmeans",
]
STRATEGIES: tuple[str, ...] = Strategy.__args__
UNCERTAINTY = ("least_confidence", "margin", "entropy", "bald", "variance")
_SKACTIVEML_METHOD = {"least_confidence": "least_confident", "margin": "margin_sampling", "entropy": "entropy"}


def bald(mc_probs: NDArray) -> NDArray[np.float64]:
    """BALD scores ``[n]`` from MC softmax outputs ``[T, n, C]`` (scikit-activeml's BatchBALD, batch 1).

    H[mean_t p_t] - mean_t H[p_t]: 0 when every pass agrees, high when confident passes disagree.
    """
    probs = np.array(mc_probs, dtype=np.float64)  # a copy: batch_bald clips its input in place
    if probs.shape[1] == 0:
        return np.empty(0)
    return batch_bald(probs, batch_size=1, random_state=0)[0]


def mc_variance(mc_outputs: NDArray) -> NDArray[np.float64]:
    """Mean over outputs of the variance across MC passes: ``[T, n, ...]`` -> ``[n]``.

    NaN outputs (a landmark predicted absent) are left out of the mean; an item with no finite
    output scores 0.
    """
    outputs = np.asarray(mc_outputs, dtype=np.float64)
    spread = np.var(outputs, axis=0).reshape(outputs.shape[1], -1)
    finite = np.isfinite(spread)
    count = finite.sum(axis=1)
    return np.where(count > 0, np.where(finite, spread, 0.0).sum(axis=1) / np.maximum(count, 1), 0.0)


def uncertainty(strategy: str, *, probs: NDArray | None = None, mc_probs: NDArray | None = None) -> NDArray:
    """Scores ``[n]``, higher = more worth labelling, for one of the uncertainty strategies."""
    if strategy in _SKACTIVEML_METHOD:
        if probs is None:
            if mc_probs is None:
                raise ValueError(f"{strategy} needs probs or mc_probs")
            probs = np.asarray(mc_probs).mean(axis=0)
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape[0] == 0:
            return np.empty(0)
        return uncertainty_scores(probs / probs.sum(axis=1, keepdims=True), method=_SKACTIVEML_METHOD[strategy])
    if mc_probs is None:
        raise ValueError(f"{strategy} needs mc_probs [T, n, ...]")
    if strategy == "bald":
        return bald(mc_probs)
    if strategy == "variance":
        return mc_variance(mc_probs)
    raise ValueError(f"not an uncertainty strategy: {strategy!r}")


def _top(scores: NDArray, k: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Positions of the ``k`` highest scores; ties broken at random by ``rng``."""
    jitter = rng.permutation(len(scores))
    order = np.lexsort((jitter, -np.asarray(scores, dtype=np.float64)))
    return order[:k]


def min_sq_distances(points: NDArray, centres: NDArray, chunk: int = 4096) -> NDArray[np.float64]:
    """Squared distance from each point to its nearest centre (inf with no centres)."""
    best = np.full(len(points), np.inf)
    if len(centres) == 0:
        return best
    p2 = (points**2).sum(axis=1)
    for start in range(0, len(centres), chunk):
        c = centres[start : start + chunk]
        d = p2[:, None] - 2.0 * points @ c.T + (c**2).sum(axis=1)[None, :]
        best = np.minimum(best, d.min(axis=1))
    return np.maximum(best, 0.0)


def k_center_greedy(
    embeddings: NDArray, k: int, *, labelled: NDArray | None = None, first: int | None = None
) -> NDArray[np.int64]:
    """Greedy k-center [5]_: repeatedly take the point farthest from every centre so far.

    Centres start as ``labelled`` (embeddings of labelled items); with none, as ``first`` (default:
    the point closest to the mean, so the result does not depend on row order). A point at distance
    0 from a centre is never taken: fewer than ``k`` positions come back when the points run out.
    """
    points = np.asarray(embeddings, dtype=np.float64)
    if len(points) == 0 or k <= 0:
        return np.empty(0, np.int64)
    centres = np.empty((0, points.shape[1])) if labelled is None else np.asarray(labelled, dtype=np.float64)
    dist = min_sq_distances(points, centres)
    chosen: list[int] = []
    if len(centres) == 0:
        start = first if first is not None else int(((points - points.mean(axis=0)) ** 2).sum(axis=1).argmin())
        chosen.append(start)
        dist = min_sq_distances(points, points[[start]])
    # A relative tolerance: float error must not make a duplicate look distinct.
    tol = 1e-12 * max(1.0, float((points**2).sum(axis=1).max()))
    while len(chosen) < k:
        i = int(dist.argmax())
        if dist[i] <= tol:
            break
        chosen.append(i)
        dist = np.minimum(dist, min_sq_distances(points, points[[i]]))
    return np.asarray(chosen, dtype=np.int64)


def kmeans_representatives(embeddings: NDArray, k: int, *, rng: np.random.Generator) -> NDArray[np.int64]:
    """The point nearest each of ``k`` k-means centres [7]_ (distinct points; fewer if duplicates)."""
    points = np.asarray(embeddings, dtype=np.float64)
    k = min(k, len(points))
    if k == 0:
        return np.empty(0, np.int64)
    seed = int(rng.integers(2**31 - 1))
    kmeans = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(points)
    chosen: list[int] = []
    for label, centre in enumerate(kmeans.cluster_centers_):
        members = np.flatnonzero(kmeans.labels_ == label)
        if len(members):
            chosen.append(int(members[((points[members] - centre) ** 2).sum(axis=1).argmin()]))
    return np.unique(np.asarray(chosen, dtype=np.int64))


def _distinct(points: NDArray, labelled: NDArray | None) -> NDArray[np.int64]:
    """Positions of the first of each group of equal rows, leaving out copies of labelled rows."""
    _, first = np.unique(np.asarray(points), axis=0, return_index=True)
    keep = np.sort(first)
    if labelled is not None and len(labelled):
        keep = keep[min_sq_distances(np.asarray(points, dtype=np.float64)[keep], np.asarray(labelled, np.float64)) > 0]
    return keep


def _hybrid(
    scores: NDArray,
    embeddings: NDArray,
    *,
    labelled: NDArray | None,
    batch: int,
    factor: float,
    diversity: str,
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    order = _top(scores, len(scores), rng)
    size = max(batch, int(np.ceil(factor * batch)))
    while True:
        candidates = order[:size]
        if diversity == "kmeans":
            picked = kmeans_representatives(embeddings[candidates], batch, rng=rng)
            picked = picked[_distinct(embeddings[candidates][picked], labelled)]
        else:
            picked = k_center_greedy(embeddings[candidates], batch, labelled=labelled)
        # Duplicates among the candidates left the batch short: widen the candidate set.
        if len(picked) == batch or size >= len(order):
            return candidates[picked]
        size *= 2


def diverse_top(
    scores: NDArray,
    embeddings: NDArray,
    *,
    labelled: NDArray | None,
    batch: int,
    rng: np.random.Generator,
    factor: float = 4.0,
) -> NDArray[np.int64]:
    """The hybrid on precomputed scores (the loop scores a large pool chunk by chunk, so it never
    holds every MC pass): positions of ``batch`` items spread by k-center greedy over the
    ``factor * batch`` highest ``scores``."""
    if batch <= 0 or len(scores) == 0:
        return np.empty(0, np.int64)
    return _hybrid(
        np.asarray(scores),
        np.asarray(embeddings),
        labelled=labelled,
        batch=min(batch, len(scores)),
        factor=factor,
        diversity="kcenter",
        rng=rng,
    )


def select(
    strategy: str,
    *,
    batch: int,
    pool_index: NDArray,
    probs: NDArray | None = None,
    mc_probs: NDArray | None = None,
    embeddings: NDArray | None = None,
    labelled_embeddings: NDArray | None = None,
    rng: np.random.Generator,
    hybrid_uncertainty: str = "margin",
    hybrid_factor: float = 4.0,
    hybrid_diversity: str = "kcenter",
) -> NDArray[np.int64]:
    """The items of ``pool_index`` to label next (at most ``batch``).

    Parameters
    ----------
    strategy
        One of :data:`STRATEGIES`.
    batch
        How many items to return.
    pool_index
        Ids of the unlabelled items; row ``i`` of ``probs``, ``mc_probs[:, i]`` and
        ``embeddings`` belong to ``pool_index[i]``.
    probs
        ``[n, C]`` class probabilities (least confidence, margin, entropy; defaults to the mean
        of ``mc_probs``).
    mc_probs
        ``[T, n, ...]`` outputs of ``T`` MC-dropout passes (bald: softmax ``[T, n, C]``; variance:
        any outputs).
    embeddings
        ``[n, d]`` features of the pool items (coreset, hybrid, cold starts).
    labelled_embeddings
        ``[m, d]`` features of the labelled items: the first centres of coreset and hybrid.
    rng
        All randomness (random, tie-breaking, k-means seeding).
    hybrid_uncertainty, hybrid_factor, hybrid_diversity
        The score that preselects ``hybrid_factor * batch`` candidates for the hybrid, and how the
        batch is then spread over them: ``"kcenter"`` (greedy k-center [5]_) or ``"kmeans"`` (the
        candidate nearest each of ``batch`` k-means centres, as in [6]_: representative rather
        than extreme items).

    Returns
    -------
    numpy.ndarray
        Selected ids from ``pool_index``, in selection order.
    """
    pool_index = np.asarray(pool_index)
    n = len(pool_index)
    if batch <= 0 or n == 0:
        return pool_index[:0].astype(np.int64)
    batch = min(batch, n)
    if strategy == "random":
        return np.asarray(rng.choice(pool_index, size=batch, replace=False), dtype=np.int64)
    if strategy in UNCERTAINTY:
        return pool_index[_top(uncertainty(strategy, probs=probs, mc_probs=mc_probs), batch, rng)].astype(np.int64)
    if embeddings is None or len(embeddings) != n:
        raise ValueError(f"{strategy} needs embeddings aligned with pool_index")
    if strategy == "coreset":
        picked = k_center_greedy(embeddings, batch, labelled=labelled_embeddings)
    elif strategy == "cold_start":
        picked = k_center_greedy(embeddings, batch)
    elif strategy == "cold_start_kmeans":
        picked = kmeans_representatives(embeddings, batch, rng=rng)
    elif strategy == "hybrid":
        scores = uncertainty(hybrid_uncertainty, probs=probs, mc_probs=mc_probs)
        picked = _hybrid(
            scores,
            np.asarray(embeddings),
            labelled=labelled_embeddings,
            batch=batch,
            factor=hybrid_factor,
            diversity=hybrid_diversity,
            rng=rng,
        )
    else:
        raise ValueError(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
    return pool_index[picked].astype(np.int64)
