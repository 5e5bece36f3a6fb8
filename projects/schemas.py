"""Label schemas: what an expert can answer in a project, validated per project kind.

Pure functions over JSON-like data; no Django. Each error names the field by its path inside
the schema (``classes[2].description``) so an admin can find it.

Shapes
------
classification::

    {"classes": [{"key": "a4c", "name": "Apical four-chamber", "description": "..."}]}

  "None of the above" and "Not sure" are always offered and must not be listed.
keypoints::

    {"points": [{"key": "ivs_top", "name": "IVS top", "colour": "#e41a1c"}],
     "curves": [{"key": "lv_endo", "name": "LV endocardium", "colour": "#377eb8",
                 "min_points": 3}]}

temporal::

    {"events": [{"key": "ed", "name": "End-diastole", "description": "...",
                 "colour": "#1b9e77"}], "min_beats": 1, "max_beats": 5}

ranking::

    {"allow_indistinguishable": true}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_CLASSES = 100
MAX_LABELS = 40
RESERVED_CLASS_KEYS = frozenset({"none_of_the_above", "not_sure"})
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class SchemaErrors(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _check_keyed_list(
    schema: Mapping[str, Any],
    field: str,
    errors: list[str],
    *,
    required: tuple[str, ...],
    colour: bool,
    seen: set[str],
    maximum: int,
) -> list[Mapping[str, Any]]:
    value = schema.get(field, [])
    if not isinstance(value, list):
        errors.append(f"{field}: must be a list")
        return []
    if len(value) > maximum:
        errors.append(f"{field}: at most {maximum} entries, got {len(value)}")
    entries: list[Mapping[str, Any]] = []
    for index, entry in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(entry, dict):
            errors.append(f"{where}: must be an object")
            continue
        for name in required:
            if not isinstance(entry.get(name), str) or not entry[name].strip():
                errors.append(f"{where}.{name}: this field is required (non-empty text)")
        key = entry.get("key")
        if isinstance(key, str) and key.strip():
            if not _KEY_RE.match(key):
                errors.append(
                    f"{where}.key: {key!r} must be lower-case letters, digits and underscores, starting with a letter"
                )
            elif key in seen:
                errors.append(f"{where}.key: {key!r} is used twice")
            seen.add(key)
        if colour:
            value_colour = entry.get("colour")
            if not isinstance(value_colour, str) or not _COLOUR_RE.match(value_colour):
                errors.append(f"{where}.colour: expected a colour like #1f77b4")
        entries.append(entry)
    return entries


def _check_unknown(schema: Mapping[str, Any], allowed: set[str], errors: list[str]) -> None:
    for name in sorted(set(schema) - allowed):
        errors.append(f"{name}: unknown field for this kind of project")


def _validate_classification(schema: Mapping[str, Any], errors: list[str]) -> None:
    _check_unknown(schema, {"classes"}, errors)
    classes = _check_keyed_list(
        schema,
        "classes",
        errors,
        required=("key", "name", "description"),
        colour=False,
        seen=set(),
        maximum=MAX_CLASSES,
    )
    if "classes" not in schema or (isinstance(schema.get("classes"), list) and not classes):
        errors.append("classes: at least one class is required")
    for index, entry in enumerate(classes):
        if entry.get("key") in RESERVED_CLASS_KEYS:
            errors.append(
                f"classes[{index}].key: {entry['key']!r} is reserved; "
                '"None of the above" and "Not sure" are always offered'
            )


def _validate_keypoints(schema: Mapping[str, Any], errors: list[str]) -> None:
    _check_unknown(schema, {"points", "curves"}, errors)
    seen: set[str] = set()
    points = _check_keyed_list(
        schema, "points", errors, required=("key", "name"), colour=True, seen=seen, maximum=MAX_LABELS
    )
    curves = _check_keyed_list(
        schema, "curves", errors, required=("key", "name"), colour=True, seen=seen, maximum=MAX_LABELS
    )
    if not points and not curves:
        errors.append("points: at least one point or curve is required")
    for index, curve in enumerate(curves):
        min_points = curve.get("min_points", 2)
        if not isinstance(min_points, int) or isinstance(min_points, bool) or not 2 <= min_points <= 100:
            errors.append(f"curves[{index}].min_points: must be a whole number from 2 to 100")


def _validate_temporal(schema: Mapping[str, Any], errors: list[str]) -> None:
    _check_unknown(schema, {"events", "min_beats", "max_beats"}, errors)
    events = _check_keyed_list(schema, "events", errors, required=("key", "name"), colour=True, seen=set(), maximum=10)
    if not events:
        errors.append("events: at least one event (such as ED or ES) is required")
    bounds = {}
    for name, default in (("min_beats", 1), ("max_beats", 5)):
        value = schema.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 50:
            errors.append(f"{name}: must be a whole number from 1 to 50")
        else:
            bounds[name] = value
    if len(bounds) == 2 and bounds["min_beats"] > bounds["max_beats"]:
        errors.append("min_beats: must not exceed max_beats")


def _validate_ranking(schema: Mapping[str, Any], errors: list[str]) -> None:
    _check_unknown(schema, {"allow_indistinguishable"}, errors)
    value = schema.get("allow_indistinguishable", True)
    if not isinstance(value, bool):
        errors.append("allow_indistinguishable: must be true or false")


_VALIDATORS = {
    "ranking": _validate_ranking,
    "classification": _validate_classification,
    "keypoints": _validate_keypoints,
    "temporal": _validate_temporal,
}


def validate_label_schema(kind: str, schema: object) -> None:
    """Raise ``SchemaErrors`` listing every problem of ``schema`` for a project of ``kind``."""
    if kind not in _VALIDATORS:
        raise SchemaErrors([f"kind: unknown project kind {kind!r}"])
    if not isinstance(schema, dict):
        raise SchemaErrors(["label_schema: must be a JSON object"])
    errors: list[str] = []
    _VALIDATORS[kind](schema, errors)
    if errors:
        raise SchemaErrors(errors)


def default_schema(kind: str) -> dict[str, Any]:
    """A valid starting schema for a new project of ``kind``, for the admin form."""
    if kind == "classification":
        return {"classes": [{"key": "a4c", "name": "Apical four-chamber", "description": "A4C"}]}
    if kind == "keypoints":
        return {
            "points": [],
            "curves": [{"key": "lv_endo", "name": "LV endocardium", "colour": "#377eb8", "min_points": 3}],
        }
    if kind == "temporal":
        return {
            "events": [
                {
                    "key": "ed",
                    "name": "End-diastole",
                    "colour": "#1b9e77",
                    "description": "Just before mitral valve closure",
                },
                {
                    "key": "es",
                    "name": "End-systole",
                    "colour": "#d95f02",
                    "description": "Just before mitral valve opening",
                },
            ],
            "min_beats": 1,
            "max_beats": 5,
        }
    return {"allow_indistinguishable": True}
