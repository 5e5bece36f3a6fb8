"""Answers are checked against what was issued and the project's schema (pure rules)."""

import pytest

from annotations.answers import AnswerError, IssuedItem, validate_answer
from projects.schemas import default_schema
from tests.factories import KEYPOINTS_SCHEMA

ITEMS = [IssuedItem(id=i, frame_count=40, width=320, height=240) for i in (11, 12, 13, 14)]
ONE = ITEMS[:1]


def test_ranking_accepts_a_permutation_with_contiguous_ties():
    answer = validate_answer("ranking", {"ordering": [13, 11, 12, 14], "ties": [[12, 11]]}, ITEMS, {})
    assert answer == {"ordering": [13, 11, 12, 14], "ties": [[11, 12]]}


@pytest.mark.parametrize(
    "answer",
    [
        {"ordering": [11, 12, 13]},
        {"ordering": [11, 12, 13, 13]},
        {"ordering": [11, 12, 13, 99]},
        {"ordering": [11, 12, 13, 14, 15]},
        {"ordering": "11,12,13,14"},
        {"ordering": [11, 12, 13, 14], "ties": [[11, 13]]},
        {"ordering": [11, 12, 13, 14], "ties": [[11]]},
        {"ordering": [11, 12, 13, 14], "ties": [[11, 12], [12, 13]]},
        [11, 12, 13, 14],
    ],
)
def test_ranking_refuses_anything_but_a_permutation_of_the_batch(answer):
    with pytest.raises(AnswerError):
        validate_answer("ranking", answer, ITEMS, {})


def test_ranking_refuses_ties_when_the_project_disallows_them():
    with pytest.raises(AnswerError, match="does not allow"):
        validate_answer(
            "ranking", {"ordering": [11, 12, 13, 14], "ties": [[11, 12]]}, ITEMS, {"allow_indistinguishable": False}
        )


@pytest.mark.parametrize("choice", ["a4c", "none_of_the_above", "not_sure"])
def test_classification_accepts_classes_and_the_two_escapes(choice):
    assert validate_answer("classification", {"class": choice}, ONE, default_schema("classification")) == {
        "class": choice
    }


def test_classification_refuses_an_unknown_class():
    with pytest.raises(AnswerError):
        validate_answer("classification", {"class": "plax"}, ONE, default_schema("classification"))


def test_keypoints_accept_placed_off_and_blurred_labels():
    answer = {
        "frame": 3,
        "labels": {"apex": {"state": "off"}, "lv": {"state": "placed", "points": [[10, 20], [30.456, 40], [50, 60]]}},
    }
    result = validate_answer("keypoints", answer, ONE, KEYPOINTS_SCHEMA)
    assert result["labels"]["lv"]["points"][1] == [30.46, 40.0]
    assert result["labels"]["apex"] == {"state": "off", "points": []}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"frame": 40, "labels": {}}, "frame"),
        ({"frame": 0, "labels": {"apex": {"state": "off"}}}, "missing: lv"),
        (
            {"frame": 0, "labels": {"apex": {"state": "placed", "points": [[1, 1], [2, 2]]}, "lv": {"state": "off"}}},
            "exactly one",
        ),
        ({"frame": 0, "labels": {"apex": {"state": "off"}, "lv": {"state": "placed", "points": [[1, 1]]}}}, "3 to 200"),
        (
            {"frame": 0, "labels": {"apex": {"state": "placed", "points": [[500, 1]]}, "lv": {"state": "off"}}},
            "outside",
        ),
        ({"frame": 0, "labels": {"apex": {"state": "gone"}, "lv": {"state": "off"}}}, "placed, off or blurred"),
        (
            {"frame": 0, "labels": {"apex": {"state": "blurred", "points": [[1, 1]]}, "lv": {"state": "off"}}},
            "takes no points",
        ),
    ],
)
def test_keypoints_refuse_incomplete_or_impossible_labels(answer, message):
    with pytest.raises(AnswerError, match=message):
        validate_answer("keypoints", answer, ONE, KEYPOINTS_SCHEMA)


def test_temporal_needs_every_event_in_enough_beats():
    schema = default_schema("temporal")
    good = {
        "events": [
            {"key": "es", "frame": 12, "beat": 1},
            {"key": "ed", "frame": 2, "beat": 1},
            {"key": "ed", "frame": 30, "beat": 2},
        ]
    }
    assert validate_answer("temporal", good, ONE, schema)["events"][0] == {"key": "ed", "frame": 2, "beat": 1}
    with pytest.raises(AnswerError, match="at least 1 beat"):
        validate_answer("temporal", {"events": [{"key": "ed", "frame": 2, "beat": 1}]}, ONE, schema)
    with pytest.raises(AnswerError, match="twice"):
        validate_answer("temporal", {"events": [{"key": "ed", "frame": 2, "beat": 1}] * 2}, ONE, schema)
    with pytest.raises(AnswerError, match="frame"):
        validate_answer("temporal", {"events": [{"key": "ed", "frame": 99, "beat": 1}]}, ONE, schema)


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("classification", {"class": ["a4c"]}),
        ("classification", {"class": {"a": 1}}),
        ("ranking", {"ordering": [11, 12, 13, 14], "ties": [[[11], [12]]]}),
        ("ranking", {"ordering": [11, 12, 13, 14], "ties": [[{"a": 1}, {"b": 2}]]}),
        ("ranking", {"ordering": [11, 12, 13, 14], "ties": [[11.0, 12.0]]}),
        (
            "keypoints",
            {"frame": 0, "labels": {"apex": {"state": "placed", "points": [[10**400, 1]]}, "lv": {"state": "off"}}},
        ),
        ("temporal", {"events": [{"key": ["ed"], "frame": 1, "beat": 1}]}),
    ],
    ids=["class list", "class object", "ties of lists", "ties of objects", "ties of floats", "huge x", "key list"],
)
def test_values_of_the_wrong_type_are_refused_with_a_reason_not_a_crash(kind, answer):
    schema = KEYPOINTS_SCHEMA if kind == "keypoints" else default_schema(kind)
    with pytest.raises(AnswerError):
        validate_answer(kind, answer, ITEMS if kind == "ranking" else ONE, schema)
