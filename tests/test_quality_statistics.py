"""Agreement statistics against published worked examples.

- Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), the example with four
  observers, twelve units and missing values: alpha nominal 0.743, interval 0.849.
- Shrout & Fleiss, "Intraclass correlations: uses in assessing rater reliability" (1979), Table 2
  (six targets, four judges): ICC(1,1) 0.17, ICC(2,1) 0.29, ICC(3,1) 0.71.
- Kendall's W: identical rankings give 1; two raters in reverse order give 0 (W = (1 + rho) / 2).
"""

import pytest

from quality.statistics import agreement_with_others, alpha, classification_alpha, confusion, icc, kendalls_w

# Rows are observers A-D, columns units 1-12; None = not coded.
KRIPPENDORFF = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def triples(table):
    return [
        (unit, rater, value) for rater, row in enumerate(table) for unit, value in enumerate(row) if value is not None
    ]


def test_krippendorffs_own_example():
    assert alpha(triples(KRIPPENDORFF), level="nominal") == pytest.approx(0.743, abs=5e-4)
    assert alpha(triples(KRIPPENDORFF), level="interval") == pytest.approx(0.849, abs=5e-4)
    # The same table as class names (what classification answers are): the nominal value holds.
    named = [(u, r, f"class-{v}") for u, r, v in triples(KRIPPENDORFF)]
    assert classification_alpha(named) == pytest.approx(0.743, abs=5e-4)
    assert classification_alpha([*named, (0, 9, "not_sure")]) == pytest.approx(0.743, abs=5e-4)


def test_shrout_and_fleiss_table_2():
    ratings = [(target, judge, score) for target, row in enumerate(SHROUT_FLEISS) for judge, score in enumerate(row)]
    result = icc(ratings)
    assert result.one_way == pytest.approx(0.17, abs=0.005)
    assert result.single_absolute == pytest.approx(0.29, abs=0.005)
    assert result.single_consistency == pytest.approx(0.71, abs=0.005)


def test_kendalls_w_at_its_ends():
    same = [(s, r, s) for r in range(3) for s in range(5)]
    assert kendalls_w(same) == pytest.approx(1.0)
    reversed_pair = [(s, 0, s) for s in range(5)] + [(s, 1, 4 - s) for s in range(5)]
    assert kendalls_w(reversed_pair) == pytest.approx(0.0)


def test_degenerate_inputs_give_none_or_perfect_agreement():
    assert alpha([(1, 1, "a")]) is None
    assert alpha([(1, 1, "a"), (1, 2, "a"), (2, 1, "a"), (2, 2, "a")]) == 1.0
    assert icc([(1, 1, 2.0), (1, 2, 3.0)]) is None
    assert kendalls_w([(1, 1, 1)]) is None


def test_confusion_counts_each_answer_against_the_items_majority():
    answers = [(1, 1, "a4c"), (1, 2, "a4c"), (1, 3, "a2c"), (2, 1, "plax"), (2, 2, "plax"), (3, 1, "a2c")]
    classes, matrix = confusion(answers)
    assert classes == ["a2c", "a4c", "plax"]
    assert matrix.tolist() == [[0, 0, 0], [1, 2, 0], [0, 0, 2]]


def test_agreement_with_the_other_experts_majority():
    # Item 1: a, b say x, c says y; item 2: a, b, c say z; item 3: a says x, b says y (tie for c: none).
    answers = [(1, "a", "x"), (1, "b", "x"), (1, "c", "y"), (2, "a", "z"), (2, "b", "z"), (2, "c", "z")]
    answers += [(3, "a", "x"), (3, "b", "y"), (3, "c", "not_sure")]
    result = agreement_with_others(answers)
    # a on item 1: others {x, y} tie -> not compared; item 2: others z -> hit; item 3: others {y} -> miss.
    assert result["a"] == (2, 0.5)
    assert result["b"] == (2, 0.5)
    # c on item 1: others {x, x} -> miss; item 2: hit; item 3: not sure -> left out.
    assert result["c"] == (2, 0.5)
    assert agreement_with_others([(1, "a", "x"), (1, "b", "x"), (2, "a", "y"), (2, "b", "y")]) == {
        "a": (2, 1.0),
        "b": (2, 1.0),
    }


def test_alpha_is_perfect_when_every_pairable_unit_agrees_though_single_ratings_differ():
    # Units 1 and 2 rated by both raters with the same class; unit 3 rated once with another:
    # only pairable units count (Krippendorff 2011, section 2), and there all agree.
    ratings = [(1, "a", "x"), (1, "b", "x"), (2, "a", "x"), (2, "b", "x"), (3, "a", "y")]
    assert alpha(ratings) == 1.0
