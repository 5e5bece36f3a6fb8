"""Reviewers' decisions in a release: their own file (labels/adjudications.json) with the latest
decision per item made by the freeze, reviewers under pseudonyms; the experts' answers, consensus
and counts exactly as without them; the card says how many; a rebuild gives the same bytes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import zipfile

import pytest
from django.utils import timezone

from annotations.models import Adjudication
from datasets.services import do_build_release, release_path
from projects.models import ProjectMembership
from projects.services import do_add_member
from quality.review.services import do_adjudicate
from tests.support import make_user
from tests.test_release_build import CLASSES, answer_all, build, ingest_clips, member_project

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


def files(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist() if not name.endswith(".png")}


def without_expert(table: bytes) -> list[list[str]]:
    """A CSV's rows, sorted, without its ``expert`` column (pseudonyms are per release)."""
    rows = list(csv.reader(io.StringIO(table.decode())))
    drop = rows[0].index("expert")
    return sorted([value for k, value in enumerate(row) if k != drop] for row in rows)


def after_this_second() -> None:
    """A release freezes decisions by time, to the second (``frozen_at`` has no fraction): step
    past the second the last decision was recorded in, as a later freeze would be."""
    time.sleep(1.05 - timezone.now().microsecond / 1e6)


@pytest.fixture
def experts(db):
    return [make_user(f"expert-{n}", email=f"expert{n}@hospital.example") for n in range(3)]


def test_a_release_lists_decisions_apart_and_keeps_the_experts_answers_as_they_were(experts, tmp_path):
    project = member_project("classification", experts, label_schema={"classes": CLASSES}, target_views_per_item=3)
    clips = ingest_clips(project, tmp_path)
    answer_all(project, experts, lambda expert, items: {"class": "a4c" if expert.username != "expert-2" else "plax"})
    _, first_path = build(project)
    before = files(first_path)
    assert json.loads(before["labels/adjudications.json"]) == []
    assert "adjudications:\n  items: 0\n  accepted: 0\n  adjudicated: 0\n" in before["README.md"].decode()

    reviewer, boss = make_user("rev-jane", email="jane@hospital.example"), make_user("boss", staff=True)
    do_add_member(project, user=reviewer, role=ProjectMembership.Role.REVIEWER)
    items = list(project.items.select_related("clip").order_by("id"))
    name = {item.pk: f"01-{item.clip.code}" for item in items}
    assert sorted(name.values()) == sorted(clips)
    do_adjudicate(project, item=items[0], reviewer=reviewer, decision="accepted")
    do_adjudicate(
        project, item=items[0], reviewer=reviewer, decision="adjudicated", answer={"class": "a2c"}, note="apex cut"
    )
    do_adjudicate(project, item=items[3], reviewer=boss, decision="accepted", note="")
    after_this_second()
    release, path = build(project)
    shipped = files(path)

    # The experts' answers, consensus, experts and lookup are as before any decision (each release
    # has its own expert pseudonyms, so answers and experts are compared without them).
    for label in ("labels/consensus.csv", "labels/class_lookup.json"):
        assert shipped[label] == before[label], label
    for label in ("labels/answers.csv", "labels/experts.csv"):
        assert without_expert(shipped[label]) == without_expert(before[label]), label
    assert release.summary["answers"] == 3 * len(clips)
    decisions = json.loads(shipped["labels/adjudications.json"])
    reviewers = {d["item"]: d["reviewer"] for d in decisions}
    assert sorted(reviewers.values()) == ["R001", "R002"]
    assert [{k: v for k, v in d.items() if k not in ("reviewer", "decided_at")} for d in decisions] == [
        {"item": name[items[0].pk], "decision": "adjudicated", "answer": {"class": "a2c"}, "note": "apex cut"},
        {"item": name[items[3].pk], "decision": "accepted", "answer": None, "note": ""},
    ]
    assert release.summary["adjudications"] == {"items": 2, "accepted": 1, "adjudicated": 1}
    card = shipped["README.md"].decode()
    assert "adjudications:\n  items: 2\n  accepted: 1\n  adjudicated: 1\n" in card
    assert "2 items were adjudicated by a reviewer (1 consensus accepted, 1 with an adjudicated answer)" in card
    assert "kept apart from the experts' answers" in card
    texts = b"\n".join(shipped.values()).decode("utf-8", "replace")
    for person in (reviewer, boss):
        assert person.username not in texts and person.email not in texts
    distribution = json.loads(shipped["croissant.json"])["distribution"]
    assert any(d.get("contentUrl") == "labels/adjudications.json" for d in distribution)

    # A decision after the freeze goes to the next version: the rebuild gives the same bytes.
    do_adjudicate(project, item=items[1], reviewer=reviewer, decision="accepted")
    assert Adjudication.objects.filter(project=project).count() == 4
    first = path.read_bytes()
    rebuilt = do_build_release(release.pk)
    assert rebuilt.archive_sha256 == hashlib.sha256(first).hexdigest()
    assert release_path(rebuilt).read_bytes() == first


def test_an_adjudicated_ordering_names_the_released_clips(experts, tmp_path):
    project = member_project("ranking", experts[:2], batch_size=3, target_views_per_item=2, slug="rank-adj")
    ingest_clips(project, tmp_path)
    answer_all(project, experts[:2], lambda expert, items: {"ordering": [i.pk for i in items], "ties": []})
    items = list(project.items.select_related("clip").order_by("id"))
    ordering = [items[2].pk, items[0].pk, items[1].pk]
    do_adjudicate(
        project,
        item=items[0],
        reviewer=make_user("boss", staff=True),
        decision="adjudicated",
        answer={"ordering": ordering, "ties": [[items[0].pk, items[1].pk]]},
    )
    after_this_second()
    _, path = build(project)
    [decision] = json.loads(files(path)["labels/adjudications.json"])
    clip = {item.pk: f"01-{item.clip.code}" for item in items}
    assert decision["item"] == clip[items[0].pk]
    assert decision["answer"] == {
        "ordering": [clip[i] for i in ordering],
        "ties": [[clip[items[0].pk], clip[items[1].pk]]],
    }
    assert decision["reviewer"] == "R001"
