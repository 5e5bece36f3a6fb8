"""Which items go into an expert's next batch. Django-free: the live issuer and the bench share it.

The caller fetches a bounded *pool* (the ``window`` least-viewed items below the target, with
their current score, uncertainty and views, read through an index) and this module picks from it:

1. balance views: the seed is a least-viewed item (ties: most uncertain, then at random), and
   no item more than ``max_view_gap`` views above it is chosen;
2. information gain: partners are added greedily by the expected reduction in the variance of
   their score differences with the items already chosen, which is largest for items that are
   uncertain and close in score (their order is most in doubt), less a penalty for extra views;
3. randomness: Gumbel noise on every choice, so concurrent experts get different batches and the
   design stays connected;
4. the same item set is never given twice to one expert; positions are shuffled.

References
----------
.. [1] Pollitt, A. (2012). "The method of Adaptive Comparative Judgement".
.. [2] Chen, X. et al. (2013). "Pairwise ranking aggregation in a crowdsourced setting" (Crowd-BT):
   choose the pair with the largest expected information gain.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from annotations.keys import item_set_key

__all__ = ["Pool", "SchedulerParams", "choose_batch", "item_set_key", "random_batch"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Pool:
    """Candidates: item ids, score and its uncertainty on the logit scale, views so far."""

    item: IntArray
    location: FloatArray
    spread: FloatArray
    views: IntArray

    def __len__(self) -> int:
        return len(self.item)


@dataclass(frozen=True)
class SchedulerParams:
    batch_size: int = 6
    #: How many least-viewed items the caller puts in the pool.
    window: int = 256
    #: Gumbel noise, as a fraction of the best candidate's gain.
    temperature: float = 0.25
    #: Penalty per view above the pool's minimum, as a fraction of the best candidate's gain.
    view_penalty: float = 0.5
    #: Items more than this many views above the pool's least-viewed item are not chosen, so the
    #: spread of views stays within ``max_view_gap + 1`` (soft balance inside, hard outside).
    max_view_gap: int = 1
    #: Attempts with a new seed when the chosen set was already given to this expert.
    attempts: int = 8


def _pair_gain(loc_a: FloatArray, var_a: FloatArray, loc_b: FloatArray, var_b: FloatArray) -> FloatArray:
    """Expected variance reduction of ``score_a - score_b`` from one comparison.

    One Bradley-Terry comparison carries Fisher information q = p(1-p) about the difference,
    whose prior variance is v = var_a + var_b; the posterior variance is v/(1+qv), a reduction of
    q v^2 / (1 + q v).
    """
    p = 0.5 * (1.0 + np.tanh(0.5 * (loc_a - loc_b)))
    q = p * (1.0 - p)
    v = var_a + var_b
    return q * v * v / (1.0 + q * v)


def choose_batch(
    pool: Pool,
    *,
    params: SchedulerParams,
    rng: np.random.Generator,
    exclude_sets: Container[str] = frozenset(),
) -> IntArray | None:
    """Pick ``params.batch_size`` items of ``pool`` (ids, in shuffled display order), or None.

    Returns None when the pool is too small or every attempt hits a set in ``exclude_sets``.
    """
    k = params.batch_size
    if len(pool) < k:
        return None
    var = pool.spread**2
    views = pool.views.astype(np.float64)
    base = views - views.min()
    tried_seeds: set[int] = set()
    for _ in range(params.attempts):
        # 1. Seed: least viewed, then most uncertain, then random.
        order = np.lexsort((rng.random(len(pool)), -pool.spread, views))
        seed = next((int(i) for i in order if int(i) not in tried_seeds), None)
        if seed is None:
            return None
        tried_seeds.add(seed)
        chosen = [seed]
        gain = np.zeros(len(pool))
        available = base <= params.max_view_gap
        available[seed] = False
        if available.sum() < k - 1:
            available = np.ones(len(pool), bool)
            available[seed] = False
        while len(chosen) < k:
            # 2. Information gain with everything chosen so far.
            last = chosen[-1]
            gain += _pair_gain(pool.location[last], var[last], pool.location, var)
            scale = float(gain[available].max(initial=0.0)) or 1.0
            # 3. Penalty for extra views and Gumbel noise, both relative to the best gain.
            value = gain - params.view_penalty * scale * base
            value = value + params.temperature * scale * rng.gumbel(size=len(pool))
            value[~available] = -np.inf
            pick = int(np.argmax(value))
            chosen.append(pick)
            available[pick] = False
        batch = pool.item[np.asarray(chosen)]
        # 4. Never the same set twice for one expert; shuffled positions.
        if item_set_key(batch) not in exclude_sets:
            return rng.permutation(batch)
    return None


def random_batch(n_items: int, batch_size: int, rng: np.random.Generator) -> IntArray:
    """Uniformly random distinct items: the baseline the bench compares against."""
    return rng.choice(n_items, size=batch_size, replace=False)
