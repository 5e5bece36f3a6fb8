"""The consensus fit: rank-breaking weights, recovery of a known order, random orderers flagged."""

from __future__ import annotations

import numpy as np

from ranking.fit import rank_breaking_weights
from ranking.glicko2 import PairOutcomes
from ranking.outcomes import ordering_pairs
from ranking.reliability import consensus_fit, spearman


def test_each_ordering_weighs_k_minus_1_comparisons_with_adjacent_pairs_doubled():
    weights = rank_breaking_weights(np.array([6, 3, 1, 2]))
    assert len(weights) == 15 + 3 + 0 + 1
    six, three, two = weights[:15], weights[15:18], weights[18:]
    assert np.isclose(six.sum(), 5) and np.isclose(three.sum(), 2) and np.isclose(two.sum(), 1)
    # ordering_pairs order: (0,1) (0,2) ... (0,5) (1,2) ...: adjacent pairs weigh twice the rest.
    adjacent = [abs(i - j) == 1 for i, j, _ in ordering_pairs(list(range(6)))]
    assert np.allclose(six[adjacent], 2 * six[~np.asarray(adjacent)][0])
    assert np.allclose(rank_breaking_weights(np.array([6]), adjacent=1.0), 2 / 6)
    assert len(rank_breaking_weights(np.array([], np.int64))) == 0


def simulated_log(seed: int, *, n_items: int = 200, n_orderings: int = 1500, random_experts=(3, 7)):
    rng = np.random.default_rng(seed)
    quality = rng.standard_normal(n_items)
    first, second, expert, sizes = [], [], [], []
    for _ in range(n_orderings):
        who = int(rng.integers(12))
        batch = rng.choice(n_items, size=6, replace=False)
        if who in random_experts:
            ordering = rng.permutation(batch)
        else:
            ordering = batch[np.argsort(-(quality[batch] + 0.5 * rng.standard_normal(6)))]
        for a, b, _ in ordering_pairs(ordering.tolist()):
            first.append(a)
            second.append(b)
            expert.append(who)
        sizes.append(6)
    outcomes = PairOutcomes(np.array(first), np.array(second), np.ones(len(first)))
    return quality, outcomes, np.array(expert), rank_breaking_weights(np.array(sizes))


def test_the_consensus_fit_recovers_a_known_order_and_flags_the_random_orderers():
    quality, outcomes, expert, weights = simulated_log(seed=11)
    fit, agreement = consensus_fit(len(quality), outcomes, weights, expert, 12)
    assert spearman(fit.score, quality) > 0.93
    assert set(np.flatnonzero(agreement.flagged)) == {3, 7}
    assert agreement.weight[[3, 7]].max() < 0.2
    assert agreement.weight[np.setdiff1d(np.arange(12), [3, 7])].min() > 0.9
    assert np.all(fit.se > 0) and abs(float(fit.score.mean())) < 1e-9


def test_doubling_adjacent_pairs_does_not_lose_accuracy_on_a_seeded_log():
    quality, outcomes, expert, weights = simulated_log(seed=5)
    uniform = rank_breaking_weights(np.full(len(weights) // 15, 6), adjacent=1.0)
    adjacent, _ = consensus_fit(len(quality), outcomes, weights, expert, 12)
    flat, _ = consensus_fit(len(quality), outcomes, uniform, expert, 12)
    assert spearman(adjacent.score, quality) >= spearman(flat.score, quality) - 0.005


def test_items_without_games_sit_at_the_prior_and_do_not_move_the_others():
    """A pool with unseen items fits the seen ones as if the unseen were absent: score 0 (the
    prior's mode, the scale being centred on the played items) and SE = the prior SD."""
    from ranking.fit import FitParams, fit_bradley_terry

    rng = np.random.default_rng(4)
    first = rng.integers(0, 40, 3000)
    second = (first + rng.integers(1, 40, 3000)) % 40
    games = PairOutcomes(first, second, (rng.random(3000) < 0.5 + 0.01 * (second - first)).astype(float))
    weights = rng.uniform(0.5, 2.0, 3000)
    alone = fit_bradley_terry(40, games, weights)
    # The same 40 items spread over a pool of 100, between unseen ones.
    where = np.sort(rng.choice(100, 40, replace=False))
    pooled = fit_bradley_terry(
        100, PairOutcomes(where[games.first], where[games.second], games.score), weights, init=np.full(100, 0.3)
    )
    assert np.allclose(pooled.score[where], alone.score, atol=1e-6)
    assert np.allclose(pooled.se[where], alone.se, atol=1e-9)
    unseen = np.setdiff1d(np.arange(100), where)
    assert np.all(pooled.score[unseen] == 0.0)
    assert np.allclose(pooled.se[unseen], FitParams().prior_sd)


def test_split_half_fits_at_their_looser_tolerance_give_the_tight_fits_reliability():
    """The halves are fitted to a 0.01 gradient (SPLIT_HALF_FIT): the reliability must match the
    one from fits to the consensus fit's 1e-6, by experts and by judgements."""
    from ranking.fit import FitParams
    from ranking.reliability import split_half_reliability

    quality, outcomes, expert, weights = simulated_log(seed=3, n_items=400, n_orderings=4000)
    judgement = np.repeat(np.arange(len(weights) // 15), 15)
    for group in (expert, judgement):
        loose = split_half_reliability(len(quality), outcomes, weights, group, rng=np.random.default_rng(1))
        tight = split_half_reliability(
            len(quality), outcomes, weights, group, rng=np.random.default_rng(1), params=FitParams()
        )
        assert 0.3 < tight < 1.0
        assert abs(loose - tight) < 1e-3
