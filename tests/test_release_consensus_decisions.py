"""A release's consensus leaves out the experts the admin excluded (or flagged ones, when the
project weighs experts), as decided when the release was frozen: their answers are still
published, marked ``in_consensus`` 0, and a later change of mind does not alter a rebuild."""

from __future__ import annotations

import csv
import io

import pytest

from datasets.services import do_build_release, release_path
from projects.models import ProjectMembership
from quality.services import do_set_standing
from tests.support import make_user
from tests.test_release_build import CLASSES, answer_all, build, ingest_clips, member_project, text_files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_excluded_experts_stay_out_of_the_release_consensus(tmp_path):
    # Two experts say a4c, two say a2c on every clip: a tie, which goes to the class first in
    # sorted order (a2c). With one a2c expert excluded, a4c wins 2 to 1.
    experts = [make_user(f"rel-{n}", email=f"rel{n}@hospital.example") for n in range(4)]
    project = member_project("classification", experts, label_schema={"classes": CLASSES}, target_views_per_item=4)
    ingest_clips(project, tmp_path)
    answer_all(project, experts, lambda expert, items: {"class": "a4c" if expert.username < "rel-2" else "a2c"})
    _, path = build(project)
    before = text_files(path)
    assert {r["class"] for r in rows(before["labels/consensus.csv"])} == {"a2c"}
    assert {r["in_consensus"] for r in rows(before["labels/experts.csv"])} == {"1"}

    admin = make_user("rel-admin", staff=True)
    do_set_standing(project, expert_id=experts[3].pk, standing=ProjectMembership.Standing.EXCLUDED, by=admin)
    release, path = build(project)
    after = text_files(path)
    consensus = rows(after["labels/consensus.csv"])
    assert {r["class"] for r in consensus} == {"a4c"} and {r["votes"] for r in consensus} == {"2"}
    assert {r["answers"] for r in consensus} == {"3"}
    assert sorted(r["in_consensus"] for r in rows(after["labels/experts.csv"])) == ["0", "1", "1", "1"]
    assert len(rows(after["labels/answers.csv"])) == len(rows(before["labels/answers.csv"]))  # all published
    assert "left out of the consensus" in after["README.md"]

    # The admin changes their mind: this version, rebuilt, is as it was frozen.
    do_set_standing(project, expert_id=experts[3].pk, standing=ProjectMembership.Standing.TRUSTED, by=admin)
    first = release_path(release).read_bytes()
    do_build_release(release.pk)
    assert release_path(release).read_bytes() == first
