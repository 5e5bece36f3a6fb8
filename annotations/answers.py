"""Validate an expert's answer against what was issued and the project's label schema.

Pure functions over JSON-like data (no Django), so the rules are easy to read and to test.
Each returns the answer normalised (only known keys, ints where ints are meant) or raises
``AnswerError`` with a message an expert's client can show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NONE_OF_THE_ABOVE = "none_of_the_above"
NOT_SURE = "not_sure"
LABEL_STATES = ("placed", "off", "blurred")
MAX_CURVE_POINTS = 200


class AnswerError(ValueError):
    pass


@dataclass(frozen=True)
class IssuedItem:
    """What the validator needs to know of each issued item."""

    id: int
    frame_count: int
    width: int
    height: int


def _require_dict(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AnswerError(f"{what} must be an object")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: object, what: str, *, low: int, high: int) -> int:
    if not _is_int(value) or not low <= value <= high:
        raise AnswerError(f"{what} must be a whole number from {low} to {high}")
    return value


def _names(keys: list[str], *, most: int = 5) -> str:
    """Keys for a message, a few of them and each cut short: the client may send thousands."""
    shown = ", ".join(key[:40] for key in keys[:most])
    return shown + (f" and {len(keys) - most} more" if len(keys) > most else "")


def validate_ranking(answer: object, items: list[IssuedItem], schema: dict[str, Any]) -> dict[str, Any]:
    data = _require_dict(answer, "answer")
    ordering = data.get("ordering")
    issued = sorted(item.id for item in items)
    if not isinstance(ordering, list) or not all(_is_int(i) for i in ordering):
        raise AnswerError("ordering must be a list of item ids")
    if sorted(ordering) != issued:
        raise AnswerError("ordering must contain each item of the issued batch exactly once")
    ties = data.get("ties", [])
    if ties and not schema.get("allow_indistinguishable", True):
        raise AnswerError("this project does not allow marking items indistinguishable")
    if not isinstance(ties, list):
        raise AnswerError("ties must be a list of groups of item ids")
    position = {item_id: index for index, item_id in enumerate(ordering)}
    seen: set[int] = set()
    groups: list[list[int]] = []
    for group in ties:
        if not isinstance(group, list) or len(group) < 2 or not all(_is_int(i) for i in group):
            raise AnswerError("each group of indistinguishable items holds at least two item ids")
        if any(i not in position for i in group) or seen.intersection(group) or len(set(group)) != len(group):
            raise AnswerError("indistinguishable groups must hold issued items, each in at most one group")
        places = sorted(position[i] for i in group)
        if places[-1] - places[0] != len(places) - 1:
            raise AnswerError("indistinguishable items must be next to each other in the ordering")
        seen.update(group)
        groups.append(sorted(group, key=position.__getitem__))
    return {"ordering": ordering, "ties": groups}


def validate_classification(answer: object, items: list[IssuedItem], schema: dict[str, Any]) -> dict[str, Any]:
    data = _require_dict(answer, "answer")
    choice = data.get("class")
    allowed = {entry["key"] for entry in schema.get("classes", [])} | {NONE_OF_THE_ABOVE, NOT_SURE}
    if not isinstance(choice, str) or choice not in allowed:
        raise AnswerError("class must be one of the project's classes, none_of_the_above or not_sure")
    return {"class": choice}


def _point(value: object, item: IssuedItem, what: str) -> list[float]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        raise AnswerError(f"{what} must be [x, y] in image pixels")
    x, y = value
    # Compared before float(): an integer with hundreds of digits has no float (OverflowError).
    if not (0 <= x <= item.width and 0 <= y <= item.height):
        raise AnswerError(f"{what} lies outside the image ({item.width}x{item.height})")
    return [round(float(x), 2), round(float(y), 2)]


def validate_keypoints(answer: object, items: list[IssuedItem], schema: dict[str, Any]) -> dict[str, Any]:
    data = _require_dict(answer, "answer")
    item = items[0]
    frame = _int(data.get("frame"), "frame", low=0, high=max(item.frame_count - 1, 0))
    labels = _require_dict(data.get("labels"), "labels")
    expected = {p["key"]: ("point", 1) for p in schema.get("points", [])}
    expected.update({c["key"]: ("curve", c.get("min_points", 2)) for c in schema.get("curves", [])})
    unknown = sorted(set(labels) - set(expected))
    if unknown:
        raise AnswerError(f"unknown label(s): {_names(unknown)}")
    missing = sorted(set(expected) - set(labels))
    if missing:
        raise AnswerError(f"every label needs an answer (placed, off or blurred); missing: {_names(missing)}")
    result: dict[str, Any] = {}
    for key, (shape, minimum) in expected.items():
        entry = _require_dict(labels[key], f"labels.{key}")
        state = entry.get("state")
        if state not in LABEL_STATES:
            raise AnswerError(f"labels.{key}.state must be placed, off or blurred")
        points = entry.get("points", [])
        if not isinstance(points, list):
            raise AnswerError(f"labels.{key}.points must be a list")
        if state != "placed":
            if points:
                raise AnswerError(f"labels.{key} is {state}: it takes no points")
            result[key] = {"state": state, "points": []}
            continue
        if shape == "point" and len(points) != 1:
            raise AnswerError(f"labels.{key} is a point: place exactly one")
        if shape == "curve" and not minimum <= len(points) <= MAX_CURVE_POINTS:
            raise AnswerError(f"labels.{key} is a curve: place {minimum} to {MAX_CURVE_POINTS} points")
        result[key] = {
            "state": state,
            "points": [_point(p, item, f"labels.{key}.points[{i}]") for i, p in enumerate(points)],
        }
    return {"frame": frame, "labels": result}


def validate_temporal(answer: object, items: list[IssuedItem], schema: dict[str, Any]) -> dict[str, Any]:
    data = _require_dict(answer, "answer")
    item = items[0]
    events = data.get("events")
    if not isinstance(events, list):
        raise AnswerError("events must be a list of {key, frame, beat}")
    keys = [e["key"] for e in schema.get("events", [])]
    max_beats = schema.get("max_beats", 5)
    seen: set[tuple[str, int]] = set()
    marks = []
    for index, raw in enumerate(events):
        event = _require_dict(raw, f"events[{index}]")
        key = event.get("key")
        if not isinstance(key, str) or key not in keys:
            raise AnswerError(f"events[{index}].key must be one of {', '.join(keys)}")
        frame = _int(event.get("frame"), f"events[{index}].frame", low=0, high=max(item.frame_count - 1, 0))
        beat = _int(event.get("beat"), f"events[{index}].beat", low=1, high=max_beats)
        if (key, beat) in seen:
            raise AnswerError(f"events[{index}]: {key} is marked twice in beat {beat}")
        seen.add((key, beat))
        marks.append({"key": key, "frame": frame, "beat": beat})
    beats = {beat for _, beat in seen}
    complete = [b for b in beats if all((k, b) in seen for k in keys)]
    if len(complete) < schema.get("min_beats", 1):
        raise AnswerError(f"mark every event ({', '.join(keys)}) in at least {schema.get('min_beats', 1)} beat(s)")
    marks.sort(key=lambda m: (m["beat"], m["frame"], m["key"]))
    return {"events": marks}


VALIDATORS = {
    "ranking": validate_ranking,
    "classification": validate_classification,
    "keypoints": validate_keypoints,
    "temporal": validate_temporal,
}


def validate_answer(kind: str, answer: object, items: list[IssuedItem], schema: dict[str, Any]) -> dict[str, Any]:
    try:
        validator = VALIDATORS[kind]
    except KeyError:
        raise AnswerError(f"unknown project kind {kind!r}") from None
    return validator(answer, items, schema)
