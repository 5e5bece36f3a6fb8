import pytest

from projects.schemas import SchemaErrors, default_schema, validate_label_schema


@pytest.mark.parametrize("kind", ["ranking", "classification", "keypoints", "temporal"])
def test_default_schemas_are_valid(kind):
    validate_label_schema(kind, default_schema(kind))


@pytest.mark.parametrize(
    ("kind", "schema", "message"),
    [
        ("classification", {"classes": []}, "classes: at least one class is required"),
        (
            "classification",
            {"classes": [{"key": "not_sure", "name": "x", "description": "y"}]},
            "classes[0].key: 'not_sure' is reserved",
        ),
        (
            "classification",
            {"classes": [{"key": "a", "name": "x", "description": "y"}] * 2},
            "classes[1].key: 'a' is used twice",
        ),
        ("keypoints", {"points": [{"key": "p", "name": "P", "colour": "red"}]}, "points[0].colour: expected a colour"),
        (
            "keypoints",
            {"curves": [{"key": "c", "name": "C", "colour": "#000000", "min_points": 1}]},
            "curves[0].min_points",
        ),
        ("keypoints", {}, "at least one point or curve"),
        ("temporal", {"events": [], "min_beats": 1}, "events: at least one event"),
        (
            "temporal",
            {"events": [{"key": "ed", "name": "ED", "colour": "#000000"}], "min_beats": 4, "max_beats": 2},
            "min_beats: must not exceed",
        ),
        ("ranking", {"allow_indistinguishable": "yes"}, "allow_indistinguishable: must be true or false"),
        ("ranking", {"colour": "#fff"}, "colour: unknown field"),
        ("segmentation", {}, "kind: unknown project kind"),
    ],
)
def test_invalid_schemas_name_the_field(kind, schema, message):
    with pytest.raises(SchemaErrors) as caught:
        validate_label_schema(kind, schema)
    assert any(message in error for error in caught.value.errors), caught.value.errors
