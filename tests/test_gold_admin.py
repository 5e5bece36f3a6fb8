"""Admins set gold answers in Django admin: an answer is checked like an expert's for the item's
project kind and schema, and a bad one stores nothing; classification items can be marked gold
from the experts' current majority."""

import json

import numpy as np
import pytest
from django.urls import reverse

from annotations.models import GoldAnswer
from annotations.services import do_issue_task, do_submit_judgement
from media_ingest.models import ProjectItem
from tests.factories import project_with_items
from tests.support import make_user

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:annotations_goldanswer_add")
CLASSES = {"classes": [{"key": k, "name": k.upper(), "description": k} for k in ("a4c", "plax", "psax")]}
RNG = np.random.default_rng(0)


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def add_gold(client, item, answer) -> object:
    return client.post(ADD_URL, {"item": str(item.pk), "answer": json.dumps(answer)})


def answer(project, expert, item, body, *, not_sure=False):
    task = do_issue_task(project, expert=expert, items=[item], rng=RNG)
    do_submit_judgement(task.pk, expert=expert, answer=body, not_sure=not_sure)


@pytest.mark.parametrize(
    ("kind", "schema", "bad", "message"),
    [
        ("classification", CLASSES, {"class": "a2c"}, "class must be one of"),
        ("classification", CLASSES, {"class": "not_sure"}, "not_sure cannot be one"),
        ("classification", CLASSES, ["a4c"], "answer must be an object"),
        (
            "keypoints",
            None,
            {"frame": 0, "labels": {"apex": {"state": "placed", "points": [[400, 10]]}, "lv": {"state": "off"}}},
            "lies outside the image",
        ),
        ("temporal", None, {"events": [{"key": "ed", "frame": 99, "beat": 1}]}, "frame must be a whole number"),
    ],
)
def test_the_admin_refuses_a_bad_gold_answer_and_stores_nothing(staff_client, kind, schema, bad, message):
    extra = {"label_schema": schema} if schema else {}
    project = project_with_items(kind, items=1, slug=f"gold-bad-{kind}", **extra)
    item = ProjectItem.objects.get(project=project)
    response = add_gold(staff_client, item, bad)
    assert response.status_code == 200  # the form again, with its error
    assert message in " ".join(response.context["adminform"].form.errors["answer"])
    assert not GoldAnswer.objects.exists()


def test_the_admin_refuses_gold_for_a_ranking_item(staff_client):
    project = project_with_items("ranking", items=2, slug="gold-ranking")
    item = ProjectItem.objects.filter(project=project).first()
    response = add_gold(staff_client, item, {"ordering": [item.pk], "ties": []})
    assert response.status_code == 200
    assert "not ranking" in " ".join(response.context["adminform"].form.errors["answer"])
    assert not GoldAnswer.objects.exists()


def test_a_valid_gold_answer_is_stored_normalised_with_its_author(staff_client, admin_user):
    project = project_with_items("keypoints", items=1, slug="gold-good")
    item = ProjectItem.objects.get(project=project)
    body = {
        "frame": 3,
        "labels": {
            "apex": {"state": "placed", "points": [[120, 80]]},
            "lv": {"state": "off", "points": []},
        },
        "comment": "dropped: not part of an answer",
    }
    response = add_gold(staff_client, item, body)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    gold = GoldAnswer.objects.get()
    assert gold.item == item and gold.created_by == admin_user
    assert gold.answer == {
        "frame": 3,
        "labels": {"apex": {"state": "placed", "points": [[120.0, 80.0]]}, "lv": {"state": "off", "points": []}},
    }
    listing = staff_client.get(
        reverse("admin:annotations_goldanswer_changelist") + f"?item__project__id__exact={project.pk}"
    )
    assert listing.status_code == 200 and project.title.encode() in listing.content


def test_mark_gold_from_the_current_consensus(staff_client, admin_user):
    """Three experts: item 0 a4c, a4c, plax (gold a4c); item 1 a4c, plax (a tie: left alone);
    item 2 plax twice and psax from an expert who corrected an earlier plax (latest counts:
    plax, plax, psax -> plax); item 3 already gold (kept); item 4 only "not sure" (left alone)."""
    a, b, c = make_user("g-a"), make_user("g-b"), make_user("g-c")
    project = project_with_items("classification", a, b, c, items=5, slug="gold-consensus", label_schema=CLASSES)
    items = list(ProjectItem.objects.filter(project=project).order_by("id"))
    for expert, choice in ((a, "a4c"), (b, "a4c"), (c, "plax")):
        answer(project, expert, items[0], {"class": choice})
    for expert, choice in ((a, "a4c"), (b, "plax")):
        answer(project, expert, items[1], {"class": choice})
    answer(project, c, items[2], {"class": "a4c"})  # corrected below
    for expert, choice in ((a, "plax"), (b, "plax"), (c, "psax")):
        answer(project, expert, items[2], {"class": choice})
    answer(project, a, items[3], {"class": "plax"})
    GoldAnswer.objects.create(item=items[3], answer={"class": "a4c"}, created_by=admin_user)
    answer(project, a, items[4], {"class": "a4c"}, not_sure=True)
    response = staff_client.post(
        reverse("admin:media_ingest_projectitem_changelist"),
        {"action": "mark_gold_from_consensus", "_selected_action": [str(i.pk) for i in items]},
        follow=True,
    )
    assert response.status_code == 200
    assert "2 item(s) marked gold" in response.content.decode()
    gold = dict(GoldAnswer.objects.values_list("item_id", "answer"))
    assert gold == {items[0].pk: {"class": "a4c"}, items[2].pk: {"class": "plax"}, items[3].pk: {"class": "a4c"}}
    assert GoldAnswer.objects.get(item=items[0]).created_by == admin_user
    change = staff_client.get(reverse("admin:media_ingest_projectitem_change", args=[items[0].pk]))
    assert change.status_code == 200
