"""Rank intervals: the bounded-memory computation equals numpy's own percentiles of the same draws."""

from __future__ import annotations

import numpy as np
import pytest

from ranking.fit import ScaleFit
from ranking.reliability import rank_intervals


def reference(fit: ScaleFit, seed: int, draws: int) -> tuple[np.ndarray, np.ndarray]:
    """The draws matrix in full and np.percentile over it (what the fold computed before)."""
    rng = np.random.default_rng(seed)
    n = len(fit.score)
    sampled = np.empty((draws, n), np.int64)
    for d in range(draws):
        noisy = fit.score + fit.se * rng.standard_normal(n)
        sampled[d, np.argsort(-noisy)] = np.arange(1, n + 1)
    low = np.percentile(sampled, 2.5, axis=0, method="lower").astype(np.int64)
    high = np.percentile(sampled, 97.5, axis=0, method="higher").astype(np.int64)
    return low, high


@pytest.mark.parametrize(
    ("n", "draws", "expected_draws"),
    [
        (1, 200, 200),
        (7, 41, 41),
        (1000, 200, 200),
        (40_001, 200, 200),
        (123_457, 200, 20_000_000 // 123_457),
        (10, 5, 20),
    ],
)
def test_intervals_equal_numpys_percentiles_of_the_same_draws(n, draws, expected_draws):
    rng = np.random.default_rng(n)
    fit = ScaleFit(score=rng.standard_normal(n) * 2, se=rng.uniform(0.05, 1.5, n))
    got = rank_intervals(fit, rng=np.random.default_rng(3), draws=draws)
    low, high = reference(fit, 3, expected_draws)
    assert np.array_equal(got.low, low)
    assert np.array_equal(got.high, high)
    assert np.array_equal(np.sort(got.rank), np.arange(1, n + 1))
    assert got.rank[np.argmax(fit.score)] == 1
    assert (got.low <= got.high).all()


def test_intervals_of_100000_items_allocate_one_int32_draws_matrix_and_a_chunk():
    """At 100,000 items (200 draws) the draws matrix is 80 MB as int32; before, the int64 matrix
    and np.percentile's copies of it peaked at 308 MB (tracemalloc sees numpy's buffers)."""
    import tracemalloc

    n = 100_000
    rng = np.random.default_rng(1)
    fit = ScaleFit(score=rng.standard_normal(n), se=np.full(n, 0.5))
    tracemalloc.start()
    try:
        rank_intervals(fit, rng=rng, draws=200)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    matrix = 200 * n * 4
    print(f"rank_intervals peak {peak / 2**20:.0f} MB")
    assert peak < matrix + 30 * 2**20, f"peak {peak / 2**20:.0f} MB"
