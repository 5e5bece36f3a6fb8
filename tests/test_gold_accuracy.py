"""The quality dashboard shows each expert's accuracy on the gold items, worked by hand here:
classification share correct, keypoint distance to the gold point in mm (the clip's pixel
spacing; px without), phase marks' frame difference. Only the latest answer per item counts."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.gold import do_set_gold_answer
from annotations.services import do_issue_task, do_submit_judgement
from media_ingest.models import Clip, ProjectItem
from quality.gold import gold_accuracy
from tests.factories import project_with_items
from tests.support import make_user

pytestmark = pytest.mark.django_db
RNG = np.random.default_rng(0)
CLASSES = {"classes": [{"key": k, "name": k.upper(), "description": k} for k in ("a4c", "plax", "psax")]}


def answer(project, expert, item, body, *, not_sure=False):
    task = do_issue_task(project, expert=expert, items=[item], rng=RNG)
    do_submit_judgement(task.pk, expert=expert, answer=body, not_sure=not_sure)


def dashboard(client, project):
    client.force_login(make_user(f"{project.slug}-admin", staff=True))
    response = client.get(reverse("quality_dashboard", args=[project.slug]))
    assert response.status_code == 200
    return response


def rows_by_expert(gold) -> dict[str, list[object]]:
    return {row[0]: row[1:] for row in gold.rows}


def test_classification_accuracy_per_expert(client, admin_user):
    """Gold a4c, a4c, plax, psax. A: a4c, a4c, plax, plax: 3 of 4 = 0.75. B: first answer to
    item 0 plax, then a4c (latest counts: correct); "not sure" on item 1 (left out); psax on
    item 2: 1 of 2 = 0.5. Answers to the non-gold item 4 are not counted."""
    a, b = make_user("acc-a"), make_user("acc-b")
    project = project_with_items("classification", a, b, items=5, slug="gold-acc", label_schema=CLASSES)
    items = list(ProjectItem.objects.filter(project=project).order_by("id"))
    for item, known in zip(items, ("a4c", "a4c", "plax", "psax"), strict=False):
        do_set_gold_answer(item, answer={"class": known}, created_by=admin_user)
    for item, choice in zip(items, ("a4c", "a4c", "plax", "plax", "psax"), strict=True):
        answer(project, a, item, {"class": choice})
    answer(project, b, items[0], {"class": "plax"})
    answer(project, b, items[0], {"class": "a4c"})
    answer(project, b, items[1], {"class": "a4c"}, not_sure=True)
    answer(project, b, items[2], {"class": "psax"})
    response = dashboard(client, project)
    gold = response.context["gold"]
    assert gold.items == 4
    assert gold.header == ["expert", "gold items answered", "not sure", "correct", "accuracy"]
    assert rows_by_expert(gold) == {a.email: [4, 0, 3, 0.75], b.email: [3, 1, 1, 0.5]}
    page = response.content.decode()
    assert 'id="gold-h">Gold items<' in page and "<td>0.75</td>" in page


def test_keypoint_distance_to_gold_in_mm_and_px(client, admin_user):
    """Gold apex at (100, 100) on frame 0 of items 0 and 1 (0.4 mm per pixel) and item 2 (no
    spacing). B: (103, 104) and (109, 112): 5 px = 2.0 mm and 15 px = 6.0 mm, mean 4.00 mm,
    1 of 2 within 5 mm. C: item 0 "off" (compared, not within), item 2 (103, 104) on frame 0:
    5 px; an item without spacing among C's: px, 1 of 2 within 5."""
    b, c = make_user("kp-b"), make_user("kp-c")
    project = project_with_items("keypoints", b, c, items=3, slug="gold-kp")
    items = list(ProjectItem.objects.filter(project=project).order_by("id"))
    Clip.objects.filter(project_items__in=items[:2]).update(pixel_spacing_x_mm=0.4, pixel_spacing_y_mm=0.4)

    def body(apex, *, frame=0, state="placed"):
        points = [apex] if state == "placed" else []
        return {"frame": frame, "labels": {"apex": {"state": state, "points": points}, "lv": {"state": "off"}}}

    for item in items:
        do_set_gold_answer(item, answer=body([100, 100]), created_by=admin_user)
    answer(project, b, items[0], body([103, 104]))
    answer(project, b, items[1], body([109, 112]))
    answer(project, c, items[0], body(None, state="off"))
    answer(project, c, items[2], body([103, 104]))
    gold = dashboard(client, project).context["gold"]
    assert gold.header[2:] == ["label", "compared", "mean distance to gold", "within 5"]
    assert rows_by_expert(gold) == {b.email: [2, "apex", 2, "4.00 mm", 0.5], c.email: [2, "apex", 2, "5.00 px", 0.5]}


def test_phase_marks_against_gold(client, admin_user):
    """Gold ED 5, ES 15 in beat 1 and ED 25 in beat 2. The expert: ED 7, ES 14 in beat 1 and
    nothing in beat 2: ED 2 marks, 1 marked, |7-5| = 2; ES 1 mark, |14-15| = 1."""
    expert = make_user("t-gold")
    schema = {
        "events": [{"key": "ed", "name": "ED", "colour": "#d62728"}, {"key": "es", "name": "ES", "colour": "#1f77b4"}],
        "min_beats": 1,
        "max_beats": 2,
    }
    project = project_with_items("temporal", expert, items=1, slug="gold-phases", label_schema=schema)
    item = ProjectItem.objects.get(project=project)
    known = [{"key": "ed", "frame": 5, "beat": 1}, {"key": "es", "frame": 15, "beat": 1}]
    do_set_gold_answer(item, answer={"events": [*known, {"key": "ed", "frame": 25, "beat": 2}]}, created_by=admin_user)
    answer(
        project, expert, item, {"events": [{"key": "ed", "frame": 7, "beat": 1}, {"key": "es", "frame": 14, "beat": 1}]}
    )
    gold = dashboard(client, project).context["gold"]
    assert gold.rows == [[expert.email, 1, "ED", 2, 1, 2.0], [expert.email, 1, "ES", 1, 1, 1.0]]


def test_no_gold_section_without_gold_items(client, expert_a):
    project = project_with_items("classification", expert_a, items=2, slug="no-gold")
    answer(project, expert_a, ProjectItem.objects.filter(project=project).first(), {"class": "a4c"})
    response = dashboard(client, project)
    assert response.context["gold"] is None and b"Gold items" not in response.content


def test_accuracy_reads_only_the_gold_items_judgements(admin_user, expert_a):
    """Two statements (the gold answers; the judgements on gold items), whatever else was answered."""
    project = project_with_items("classification", expert_a, items=12, slug="gold-reads")
    items = list(ProjectItem.objects.filter(project=project).order_by("id"))
    do_set_gold_answer(items[0], answer={"class": "a4c"}, created_by=admin_user)
    for item in items:
        answer(project, expert_a, item, {"class": "a4c"})
    with CaptureQueriesContext(connection) as queries:
        gold = gold_accuracy(project)
    assert len(queries.captured_queries) == 2
    assert gold.rows == [[expert_a.email, 1, 0, 1, 1.0]]
