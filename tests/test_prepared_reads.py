"""The annotate loop's prepared reads (unity.prepared) give what the ORM gives: the same rows,
the same converted values (JSON, datetimes, UUIDs, nulls), the same refusals. The expected values
come from the ORM's own querysets, which these reads replaced on the hot path; on SQLite (the
embedded default) and on PostgreSQL, whichever the run uses.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from django.http import Http404

from annotations.models import Task
from annotations.selectors import held_task, task_items
from annotations.services import do_issue_next_task
from projects.models import Project
from projects.selectors import get_project_for, projects_visible_to
from tests.factories import project_with_items
from tests.support import make_user

pytestmark = pytest.mark.django_db


def field_values(instance) -> dict[str, object]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


@pytest.fixture
def issued(expert_a):
    project = project_with_items(Project.Kind.CLASSIFICATION, expert_a, items=8, guidelines="ß **bold**")
    # JSON the converters must turn back into Python: nested, non-ASCII, null, a float.
    schema = {**project.label_schema, "note": ["ü", None, 1.5]}
    Project.objects.filter(pk=project.pk).update(label_schema=schema)
    project.refresh_from_db()
    task = do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng(3))
    assert task is not None
    return task


def test_a_held_task_and_its_project_read_as_the_orm_reads_them(issued, expert_a):
    task = held_task(str(issued.pk), expert_a)
    expected = Task.objects.select_related("project").get(pk=issued.pk)
    assert field_values(task) == field_values(expected)
    assert field_values(task.project) == field_values(expected.project)
    assert task.project.label_schema["note"] == ["ü", None, 1.5]
    assert task.issued_at.tzinfo is not None


def test_a_task_is_not_held_by_another_expert_a_removed_member_or_a_malformed_id(issued, expert_a, expert_b):
    assert held_task(issued.pk, expert_b) is None
    for malformed in ("not-a-uuid", "", None, 12, [1]):
        assert held_task(malformed, expert_a) is None
    assert held_task(uuid.uuid4(), expert_a) is None
    issued.project.memberships.filter(user=expert_a).delete()
    assert held_task(issued.pk, expert_a) is None


@pytest.fixture
def batch(expert_a):
    project = project_with_items(Project.Kind.RANKING, expert_a, items=12, batch_size=6)
    task = do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng(5))
    assert task is not None
    return task


@pytest.mark.parametrize("which", ["issued", "batch"])
def test_the_items_of_a_task_read_as_the_orm_reads_them(request, which):
    issued = request.getfixturevalue(which)
    rows = issued.task_items.select_related("item__clip").order_by("position")
    shown = task_items(issued)
    assert len(shown) == (6 if which == "batch" else 1)
    assert [(s.id, s.position, s.frame_index) for s in shown] == [
        (r.item_id, r.position, r.item.frame_index) for r in rows
    ]
    for item, row in zip(shown, rows, strict=True):
        for name in ("code", "frame_count", "frame_rate", "rows", "columns", "pixel_spacing_x_mm", "video_name"):
            assert getattr(item.clip, name) == getattr(row.item.clip, name)


@pytest.mark.parametrize("status", list(Project.Status))
@pytest.mark.parametrize("who", ["member", "outsider", "staff"])
def test_a_project_is_found_exactly_when_the_orm_lists_it(issued, expert_a, status, who):
    Project.objects.filter(pk=issued.project_id).update(status=status)
    user = {"member": expert_a, "outsider": make_user("outsider"), "staff": make_user("admin", staff=True)}[who]
    slug = issued.project.slug
    listed = projects_visible_to(user).filter(slug=slug).first()
    try:
        found = get_project_for(user, slug)
    except Http404:
        found = None
    assert (found is None) == (listed is None)
    if listed is not None:
        assert field_values(found) == field_values(listed)
