"""Orderings become pairwise outcomes; the judgement log is cut into rating periods."""

from __future__ import annotations

import numpy as np

from ranking.outcomes import closed_periods, ordering_pairs, orderings_to_outcomes, period_labels


def test_an_ordering_of_k_items_gives_every_pair_once_with_the_earlier_item_winning():
    pairs = ordering_pairs([11, 12, 13, 14, 15, 16])
    assert len(pairs) == 15
    assert {(a, b) for a, b, _ in pairs} == {(a, b) for i, a in enumerate(range(11, 17)) for b in range(a + 1, 17)}
    assert all(s == 1.0 for _, _, s in pairs)


def test_items_in_a_tie_group_draw_with_each_other_only():
    pairs = {(a, b): s for a, b, s in ordering_pairs([1, 2, 3, 4], ties=[[2, 3], [4]])}
    assert pairs[(2, 3)] == 0.5
    assert pairs[(1, 2)] == pairs[(3, 4)] == pairs[(2, 4)] == 1.0


def test_answers_map_item_ids_to_rating_indices():
    log = orderings_to_outcomes(
        [{"ordering": [30, 10, 20], "ties": []}, {"ordering": [10, 20], "ties": [[10, 20]]}],
        experts=[0, 1],
        index_of={10: 0, 20: 1, 30: 2},
    )
    assert log.outcomes.first.tolist() == [2, 2, 0, 0]
    assert log.outcomes.second.tolist() == [0, 1, 1, 1]
    assert log.outcomes.score.tolist() == [1.0, 1.0, 1.0, 0.5]
    assert log.judgement.tolist() == [0, 0, 0, 1]
    assert log.expert.tolist() == [0, 0, 0, 1]


def test_periods_close_after_n_judgements_or_when_a_judgement_comes_t_seconds_after_the_first():
    times = [0, 1, 2, 3, 4, 100, 101, 500]
    assert period_labels(times, every_judgements=3, every_seconds=60).tolist() == [0, 0, 0, 1, 1, 2, 2, 3]


def test_the_period_rule_cuts_a_prefix_the_same_way_as_the_whole_log():
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.exponential(20, size=200))
    whole = period_labels(times, every_judgements=7, every_seconds=90)
    for cut in range(0, 200, 13):
        done = closed_periods(whole[:cut], times[:cut], every_judgements=7)
        # The folded prefix ends on a period boundary of the whole log ...
        assert done == 0 or whole[done - 1] != whole[min(done, 199)] or done == 200
        # ... and labelling the rest afresh gives the same cuts as the whole log.
        rest = period_labels(times[done:], every_judgements=7, every_seconds=90)
        assert np.array_equal(np.diff(rest) > 0, np.diff(whole[done:]) > 0)


def test_the_last_period_stays_open_until_it_is_full():
    labels = period_labels([0, 1, 2, 3], every_judgements=3, every_seconds=60)
    assert closed_periods(labels, [0, 1, 2, 3], every_judgements=3) == 3
    assert closed_periods(labels[:3], [0, 1, 2], every_judgements=3) == 3
    assert closed_periods(labels[:2], [0, 1], every_judgements=3) == 0


def test_a_quiet_last_period_closes_once_its_time_is_up_with_a_margin():
    times = [0.0, 10.0, 20.0]
    labels = period_labels(times, every_judgements=10, every_seconds=600)
    assert closed_periods(labels, times, every_judgements=10) == 0
    assert closed_periods(labels, times, every_judgements=10, every_seconds=600, now=630.0) == 0
    assert closed_periods(labels, times, every_judgements=10, every_seconds=600, now=661.0) == 3
    # A judgement arriving after that moment starts a new period, as the recompute will see it.
    later = [*times, 661.0]
    assert list(period_labels(later, every_judgements=10, every_seconds=600)) == [0, 0, 0, 1]


def test_the_vectorised_log_lists_every_orderings_pairs_in_log_order():
    rng = np.random.default_rng(1)
    answers, experts = [], []
    for _ in range(400):
        k = int(rng.integers(1, 8))
        items = [int(x) for x in rng.choice(50, k, replace=False)]
        start = int(rng.integers(0, max(k - 1, 1)))
        ties = [items[start : start + 2]] if k >= 3 and rng.random() < 0.5 else []
        answers.append({"ordering": items, "ties": ties})
        experts.append(int(rng.integers(0, 5)))
    index_of = {i: 49 - i for i in range(50)}
    log = orderings_to_outcomes(answers, experts, index_of)
    expected = [
        (index_of[a], index_of[b], s, position, expert)
        for position, (answer, expert) in enumerate(zip(answers, experts, strict=True))
        for a, b, s in ordering_pairs(answer["ordering"], answer["ties"])
    ]
    got = zip(
        log.outcomes.first.tolist(),
        log.outcomes.second.tolist(),
        log.outcomes.score.tolist(),
        log.judgement.tolist(),
        log.expert.tolist(),
        strict=True,
    )
    assert list(got) == expected
    assert 0.5 in log.outcomes.score
