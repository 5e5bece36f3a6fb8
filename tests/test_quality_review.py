"""Review and adjudication: who may review, every expert's answer on an item side by side, the list
most disagreeing first, decisions stored apart from the experts' answers, and bad adjudicated
answers refused. Expected values come from the answers each test submits itself."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.models import Adjudication, Judgement
from annotations.services import do_issue_task, do_skip_task, do_submit_judgement
from media_ingest.models import ProjectItem
from projects.models import ProjectMembership
from projects.services import do_add_member
from quality.review import selectors
from quality.selectors import compute_dashboard
from quality.tasks import refresh_review_order
from ranking.models import ItemRating, RatingState
from ranking.services import do_close_rating_periods
from tests.factories import project_with_items, ready_clip
from tests.support import make_user

pytestmark = pytest.mark.django_db
RNG = np.random.default_rng(0)
CLASSES = [
    {"key": "a4c", "name": "Apical four-chamber", "description": "x"},
    {"key": "plax", "name": "Parasternal long axis", "description": "x"},
    {"key": "a2c", "name": "Apical two-chamber", "description": "x"},
]
TEMPORAL_SCHEMA = {
    "events": [
        {"key": "ed", "name": "End-diastole", "colour": "#d62728"},
        {"key": "es", "name": "End-systole", "colour": "#1f77b4"},
    ],
    "min_beats": 1,
    "max_beats": 2,
}


def answer(project, expert, items, body, **extra):
    task = do_issue_task(project, expert=expert, items=items if isinstance(items, list) else [items], rng=RNG)
    judgement, _ = do_submit_judgement(task.pk, expert=expert, answer=body, time_on_task_ms=2500, **extra)
    return judgement


def items_of(project):
    return list(ProjectItem.objects.filter(project=project).order_by("id"))


def list_url(project, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("quality_review", args=[project.slug]) + (f"?{query}" if query else "")


def item_url(project, item):
    return reverse("quality_review_item", args=[project.slug, item.pk])


@pytest.fixture
def panel():
    """Three experts who answered a classification project of three items:
    item 0 all a4c, item 1 a4c/plax/a2c, item 2 a4c/a4c/plax."""
    experts = [make_user(f"cls-{k}", email=f"cls{k}@hospital.example") for k in range(3)]
    project = project_with_items(
        "classification", *experts, items=3, slug="review-cls", label_schema={"classes": CLASSES}
    )
    items = items_of(project)
    chosen = [["a4c", "a4c", "a4c"], ["a4c", "plax", "a2c"], ["a4c", "a4c", "plax"]]
    for item, classes in zip(items, chosen, strict=True):
        for expert, value in zip(experts, classes, strict=True):
            answer(project, expert, item, {"class": value})
    return project, experts, items


# --- who may review -------------------------------------------------------------------------------
def test_staff_reviewers_and_leads_may_review_and_everyone_else_gets_404(client, panel):
    project, experts, items = panel
    reviewer, lead, outsider = make_user("rev"), make_user("lead"), make_user("nosy")
    do_add_member(project, user=reviewer, role=ProjectMembership.Role.REVIEWER)
    do_add_member(project, user=lead, role=ProjectMembership.Role.LEAD)
    urls = [
        list_url(project),
        item_url(project, items[0]),
        reverse("quality_review_feedback", args=[project.slug]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404  # anonymous
    for user, allowed in (
        (make_user("boss", staff=True), True),
        (reviewer, True),
        (lead, True),
        (experts[0], False),
        (outsider, False),
    ):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == (200 if allowed else 404), (user.username, url)
    # An expert posting a decision gets 404 and nothing is stored.
    client.force_login(experts[0])
    response = client.post(item_url(project, items[1]), {"decision": "accepted"})
    assert response.status_code == 404
    assert not Adjudication.objects.exists()


def test_an_item_of_another_project_is_404(client, panel):
    project, _, _ = panel
    other = project_with_items("classification", items=1, slug="elsewhere", label_schema={"classes": CLASSES})
    client.force_login(make_user("boss", staff=True))
    assert client.get(item_url(project, items_of(other)[0])).status_code == 404


# --- the item page ----------------------------------------------------------------------------------
def test_classification_item_shows_each_experts_class_the_counts_and_the_majority(client, panel):
    project, experts, items = panel
    client.force_login(make_user("boss", staff=True))
    response = client.get(item_url(project, items[2]))
    assert response.status_code == 200
    review = response.context["review"]
    assert [(a.expert_id, a.answer["class"]) for a in review.answers] == [
        (experts[0].pk, "a4c"),
        (experts[1].pk, "a4c"),
        (experts[2].pk, "plax"),
    ]
    assert all(a.time_on_task_ms <= 2500 for a in review.answers)
    panel_ = response.context["panel"]
    assert panel_["majority"] == "a4c"
    assert {c["key"]: c["n"] for c in panel_["counts"]} == {
        "a4c": 2,
        "plax": 1,
        "a2c": 0,
        "none_of_the_above": 0,
        "not_sure": 0,
    }
    assert panel_["agreement"] == pytest.approx(2 / 3)
    html = response.content.decode()
    assert html.count('<tr data-judgement="') == 3
    for expert in experts:
        assert expert.username in html  # names in the legend (no e-mail shown)
        assert expert.email not in html
    assert 'id="majority">Apical four-chamber<' in html


def test_keypoints_item_overlays_every_experts_points_in_their_colour_and_the_mean(client):
    a, b = make_user("kp-a"), make_user("kp-b")
    project = project_with_items("keypoints", a, b, items=1, slug="review-kp")
    [item] = items_of(project)
    line = [[10, 10], [20, 10], [30, 10]]
    answer(
        project,
        a,
        item,
        {
            "frame": 4,
            "labels": {"apex": {"state": "placed", "points": [[100, 100]]}, "lv": {"state": "placed", "points": line}},
        },
        not_sure=True,
        feedback="apex hard to see",
    )
    answer(
        project,
        b,
        item,
        {
            "frame": 4,
            "labels": {
                "apex": {"state": "placed", "points": [[104, 103]]},
                "lv": {"state": "placed", "points": [[x, y + 4] for x, y in line]},
            },
        },
    )
    client.force_login(make_user("boss", staff=True))
    response = client.get(item_url(project, item))
    html = response.content.decode()
    legend = dict(response.context["review"].experts)
    circles = re.findall(r'<circle class="kp-point" cx="([\d.]+)" cy="([\d.]+)" r="[\d.]+" fill="(#[0-9a-f]{6})"', html)
    assert sorted(circles) == sorted([("100.0", "100.0", legend["kp-a"]), ("104.0", "103.0", legend["kp-b"])])
    assert legend["kp-a"] != legend["kp-b"]
    assert html.count('class="kp-curve"') == 2
    assert 'data-label="apex" data-x="102.0" data-y="101.5"' in html  # the mean point
    # (2.5 + 2.5) apex distances and (2 + 2) curve centroid distances, pooled.
    assert response.context["panel"]["score"] == pytest.approx(2.25)
    assert "apex hard to see" in html and "not sure" in html
    assert json.loads(response.context["form"]["answer"])["labels"]["apex"]["points"] == [[102.0, 101.5]]


def test_temporal_item_puts_every_experts_marks_on_one_timeline_per_beat_with_the_median(client):
    a, b = make_user("t-a"), make_user("t-b")
    project = project_with_items("temporal", a, b, items=1, slug="review-t", label_schema=TEMPORAL_SCHEMA)
    [item] = items_of(project)
    answer(project, a, item, {"events": [{"key": "ed", "frame": 5, "beat": 1}, {"key": "es", "frame": 15, "beat": 1}]})
    answer(project, b, item, {"events": [{"key": "ed", "frame": 7, "beat": 1}, {"key": "es", "frame": 14, "beat": 1}]})
    client.force_login(make_user("boss", staff=True))
    response = client.get(item_url(project, item))
    html = response.content.decode()
    [timeline] = response.context["panel"]["timelines"]
    assert timeline["beat"] == 1
    assert sorted((m["key"], m["frame"]) for row in timeline["rows"] for m in row["marks"]) == [
        ("ED", 5),
        ("ED", 7),
        ("ES", 14),
        ("ES", 15),
    ]
    assert [(m["key"], m["frame"]) for m in timeline["consensus"]] == [("ED", 6.0), ("ES", 14.5)]
    assert response.context["panel"]["score"] == pytest.approx(1.5)
    assert html.count('class="tl-mark"') == 4


def test_ranking_item_shows_each_batch_with_each_experts_ordering(client):
    a, b = make_user("r-a"), make_user("r-b")
    project = project_with_items("ranking", a, b, items=3, slug="review-r", batch_size=3)
    items = items_of(project)
    ids = [i.pk for i in items]
    answer(project, a, items, {"ordering": ids, "ties": []})
    answer(project, b, items, {"ordering": ids[::-1], "ties": []})
    client.force_login(make_user("boss", staff=True))
    response = client.get(item_url(project, items[0]))
    [batch] = response.context["panel"]["batches"]
    shown = {row["answer"].name: [e["id"] for e in row["items"]] for row in batch}
    assert shown == {"r-a": ids, "r-b": ids[::-1]}
    assert response.context["panel"]["places"] == [0.0, 1.0]
    html = response.content.decode()
    assert html.count(f'class="me" data-item="{items[0].pk}"') == 2


def test_an_experts_later_answer_replaces_their_earlier_one(client, panel):
    project, experts, items = panel
    answer(project, experts[2], items[2], {"class": "a4c"})
    client.force_login(make_user("boss", staff=True))
    review = client.get(item_url(project, items[2])).context["review"]
    assert [a.answer["class"] for a in review.answers] == ["a4c", "a4c", "a4c"]


# --- the list ---------------------------------------------------------------------------------------
def test_the_list_puts_the_most_disagreeing_items_first(client, panel):
    project, _, items = panel
    client.force_login(make_user("boss", staff=True))
    page = client.get(list_url(project)).context["page"]
    assert [r.item_id for r in page.rows] == [items[1].pk, items[2].pk, items[0].pk]
    assert [r.score for r in page.rows] == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert [r.answers for r in page.rows] == [3, 3, 3]
    by_item = client.get(list_url(project, order="item")).context["page"]
    assert [r.item_id for r in by_item.rows] == [i.pk for i in items]


def test_a_stale_order_is_shown_while_the_worker_recomputes_it(
    client, panel, monkeypatch, django_capture_on_commit_callbacks
):
    project, _, items = panel
    client.force_login(make_user("boss", staff=True))

    def answers_of_first_item():
        rows = client.get(list_url(project)).context["page"].rows
        return {r.item_id: r.answers for r in rows}[items[0].pk]

    assert answers_of_first_item() == 3  # the first view computes the order
    for k in range(2):
        late = make_user(f"late-{k}")
        do_add_member(project, user=late)
        answer(project, late, items[0], {"class": "plax"})
    assert answers_of_first_item() == 3  # fresh enough: shown as it is, nothing queued
    monkeypatch.setattr(selectors, "ORDER_FRESH_SECONDS", 0)
    with django_capture_on_commit_callbacks() as queued:
        assert answers_of_first_item() == 3  # stale: still shown, and a refresh is queued once
        assert answers_of_first_item() == 3
    assert len(queued) == 1
    refresh_review_order(project.pk)  # what the worker runs
    assert answers_of_first_item() == 5


def test_the_database_and_python_give_the_same_disagreement(client):
    """The SQL aggregate (PostgreSQL) and the portable Python path agree, for every kind."""
    a, b, c = make_user("s-a"), make_user("s-b"), make_user("s-c")
    kp = project_with_items("keypoints", a, b, c, items=3, slug="same-kp")
    rng = np.random.default_rng(3)
    for item in items_of(kp):
        for expert in (a, b, c):
            apex = [[float(v) for v in rng.uniform(20, 200, 2).round(2)]]
            curve = [[float(v) for v in p] for p in rng.uniform(10, 230, (4, 2)).round(2)]
            state = "off" if expert is c and item.pk % 2 else "placed"
            body = {
                "frame": int(rng.integers(40)),
                "labels": {
                    "apex": {"state": "placed", "points": apex},
                    "lv": {"state": state, "points": curve if state == "placed" else []},
                },
            }
            answer(kp, expert, item, body)
    t = project_with_items("temporal", a, b, c, items=3, slug="same-t", label_schema=TEMPORAL_SCHEMA)
    for item in items_of(t):
        for expert in (a, b, c):
            frames = sorted(int(f) for f in rng.choice(40, 4, replace=False))
            body = {
                "events": [
                    {"key": "ed", "frame": frames[0], "beat": 1},
                    {"key": "es", "frame": frames[1], "beat": 1},
                    {"key": "ed", "frame": frames[2], "beat": 2},
                ]
            }
            answer(t, expert, item, body)
    cl = project_with_items("classification", a, b, c, items=3, slug="same-c", label_schema={"classes": CLASSES})
    for k, item in enumerate(items_of(cl)):
        for expert, value in zip(
            (a, b, c), [["a4c", "plax", "not_sure"], ["not_sure"] * 3, ["a2c", "a2c", "plax"]][k], strict=True
        ):
            answer(cl, expert, item, {"class": value})
    for project in (kp, t, cl):
        in_sql = selectors.compute_review_order(project)
        in_python = selectors.compute_review_order(project, in_python=True)
        assert list(in_sql.item_ids) == list(in_python.item_ids)
        assert list(in_sql.answers) == list(in_python.answers) == [3, 3, 3]
        assert in_sql.scores == pytest.approx(in_python.scores)
    ordered = selectors.compute_review_order(cl)
    scores = dict(zip(ordered.item_ids.tolist(), ordered.scores.tolist(), strict=True))
    cl_items = items_of(cl)
    # a4c vs plax (not sure is no vote): half agree; only "not sure": 1; a2c, a2c, plax: 1/3 disagree.
    assert [scores[i.pk] for i in cl_items] == pytest.approx([0.5, 1.0, 1 / 3])


def test_the_list_filters_by_decision_and_feedback(client, panel):
    project, experts, items = panel
    boss = make_user("boss", staff=True)
    client.force_login(boss)
    extra = ProjectItem.objects.create(project=project, clip=ready_clip("review-cls-extra"))
    answer(project, experts[0], extra, {"class": "plax"}, feedback="is this even a heart?")
    cache.clear()
    client.post(item_url(project, items[1]), {"decision": "accepted"})
    client.post(item_url(project, items[2]), {"decision": "adjudicated", "answer": '{"class": "plax"}'})

    def shown(**params):
        return [r.item_id for r in client.get(list_url(project, **params)).context["page"].rows]

    assert sorted(shown(decision="decided")) == sorted([items[1].pk, items[2].pk])
    assert shown(decision="accepted") == [items[1].pk]
    assert shown(decision="adjudicated") == [items[2].pk]
    assert sorted(shown(decision="undecided")) == sorted([items[0].pk, extra.pk])
    assert shown(feedback="1") == [extra.pk]
    rows = client.get(list_url(project)).context["page"].rows
    assert {r.item_id: r.decision.decision if r.decision else "" for r in rows} == {
        items[0].pk: "",
        items[1].pk: "accepted",
        items[2].pk: "adjudicated",
        extra.pk: "",
    }


def test_a_list_page_costs_the_same_queries_at_any_size(client, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 5)
    a, b = make_user("q-a"), make_user("q-b")
    boss = make_user("boss", staff=True)
    client.force_login(boss)
    counts = []
    for n, slug in ((11, "small"), (60, "larger")):
        project = project_with_items("classification", a, b, items=n, slug=slug, label_schema={"classes": CLASSES})
        for k, item in enumerate(items_of(project)):
            answer(project, a, item, {"class": "a4c"})
            answer(project, b, item, {"class": "a4c" if k % 3 else "plax"})
        for params in ({}, {"page": "2", "decision": "undecided"}):
            with CaptureQueriesContext(connection) as queries:
                page = client.get(list_url(project, **params)).context["page"]
            assert len(page.rows) == 5
            counts.append(len(queries))
    assert counts[0] == counts[2] and counts[1] == counts[3], counts


# --- decisions --------------------------------------------------------------------------------------
def test_an_adjudication_is_stored_apart_and_changes_no_expert_figure(client, panel):
    project, _, items = panel
    reviewer = make_user("rev")
    do_add_member(project, user=reviewer, role=ProjectMembership.Role.REVIEWER)
    cache.clear()
    before = compute_dashboard(project)
    judgements = list(Judgement.objects.filter(project=project).order_by("id").values_list("id", "answer"))
    client.force_login(reviewer)
    response = client.post(
        item_url(project, items[1]), {"decision": "adjudicated", "answer": '{"class": "a2c"}', "note": "looked again"}
    )
    assert response.status_code == 302
    response = client.post(item_url(project, items[2]), {"decision": "accepted", "answer": "ignored", "note": ""})
    assert response.status_code == 302
    first, second = Adjudication.objects.order_by("id")
    assert (first.item_id, first.decision, first.answer, first.note, first.reviewer_id) == (
        items[1].pk,
        "adjudicated",
        {"class": "a2c"},
        "looked again",
        reviewer.pk,
    )
    assert (second.item_id, second.decision, second.answer) == (items[2].pk, "accepted", None)
    # The experts' log and every dashboard figure are as they were.
    assert list(Judgement.objects.filter(project=project).order_by("id").values_list("id", "answer")) == judgements
    cache.clear()
    after = compute_dashboard(project)
    assert after.progress == before.progress and after.experts == before.experts
    assert after.agreement == before.agreement
    assert after.agreement.figures["answers"] == 9
    # The page shows the decision; the item's answers are still the experts' three.
    page = client.get(item_url(project, items[1]))
    assert page.context["review"].current.decision == "adjudicated"
    assert len(page.context["review"].answers) == 3
    assert 'data-decision="adjudicated"' in page.content.decode()
    # A later decision is a new row: the latest one is the item's decision.
    client.post(item_url(project, items[1]), {"decision": "accepted"})
    assert Adjudication.objects.filter(item=items[1]).count() == 2
    assert client.get(item_url(project, items[1])).context["review"].current.decision == "accepted"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"class": "a4c"', "not valid JSON"),
        ('{"class": "sax"}', "class must be one of"),
        ('["a4c"]', "answer must be an object"),
    ],
)
def test_a_bad_adjudicated_answer_is_refused_and_nothing_is_stored(client, panel, body, message):
    project, _, items = panel
    client.force_login(make_user("boss", staff=True))
    response = client.post(item_url(project, items[1]), {"decision": "adjudicated", "answer": body, "note": "n"})
    assert response.status_code == 400
    assert message in response.context["error"]
    assert message in response.content.decode()
    assert response.context["form"]["answer"] == body  # the form keeps what was typed
    assert not Adjudication.objects.exists()


def test_bad_keypoint_and_ranking_answers_are_refused_like_experts_answers(client):
    a = make_user("b-a")
    boss = make_user("boss", staff=True)
    client.force_login(boss)
    kp = project_with_items("keypoints", a, items=1, slug="bad-kp")
    [item] = items_of(kp)
    outside = {
        "frame": 0,
        "labels": {"apex": {"state": "placed", "points": [[400, 10]]}, "lv": {"state": "off", "points": []}},
    }
    response = client.post(item_url(kp, item), {"decision": "adjudicated", "answer": json.dumps(outside)})
    assert response.status_code == 400 and "outside the image" in response.context["error"]
    rk = project_with_items("ranking", a, items=3, slug="bad-rank", batch_size=3)
    other = project_with_items("ranking", items=1, slug="other-rank")
    items, foreign = items_of(rk), items_of(other)[0]
    response = client.post(
        item_url(rk, items[0]),
        {"decision": "adjudicated", "answer": json.dumps({"ordering": [items[0].pk, foreign.pk], "ties": []})},
    )
    assert response.status_code == 400 and "items of this project only" in response.context["error"]
    response = client.post(
        item_url(rk, items[0]),
        {"decision": "adjudicated", "answer": json.dumps({"ordering": [items[1].pk, items[2].pk], "ties": []})},
    )
    assert response.status_code == 400 and "holding the item under review" in response.context["error"]
    assert not Adjudication.objects.exists()
    ordering = [items[2].pk, items[0].pk, items[1].pk]
    response = client.post(
        item_url(rk, items[0]), {"decision": "adjudicated", "answer": json.dumps({"ordering": ordering})}
    )
    assert response.status_code == 302
    assert Adjudication.objects.get().answer == {"ordering": ordering, "ties": []}


def test_the_decision_form_needs_the_csrf_token(panel):
    from django.test import Client

    project, _, items = panel
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("boss", staff=True))
    assert strict.post(item_url(project, items[0]), {"decision": "accepted"}).status_code == 403
    assert not Adjudication.objects.exists()


# --- feedback and skips -------------------------------------------------------------------------------
def test_feedback_and_skip_reasons_are_listed_newest_first_and_filtered(client, monkeypatch):
    a, b = make_user("f-a"), make_user("f-b")
    project = project_with_items("classification", a, b, items=4, slug="review-fb", label_schema={"classes": CLASSES})
    items = items_of(project)
    answer(project, a, items[0], {"class": "a4c"}, feedback="Poor window, apex cut off")
    answer(project, b, items[0], {"class": "a4c"})  # no feedback: not listed
    answer(project, b, items[1], {"class": "plax"}, feedback="Could be A2C")
    skipped = do_issue_task(project, expert=a, items=[items[2]], rng=RNG)
    do_skip_task(skipped.pk, expert=a, reason="wrong view")
    client.force_login(make_user("boss", staff=True))
    url = reverse("quality_review_feedback", args=[project.slug])

    def rows(**params):
        page = client.get(url, params).context["page"]
        return [(r.kind, r.expert, r.text, r.item_ids) for r in page.rows]

    assert rows() == [
        ("skip", "f-a", "wrong view", [items[2].pk]),
        ("feedback", "f-b", "Could be A2C", [items[1].pk]),
        ("feedback", "f-a", "Poor window, apex cut off", [items[0].pk]),
    ]
    assert rows(kind="skip") == [("skip", "f-a", "wrong view", [items[2].pk])]
    assert [r[2] for r in rows(kind="feedback")] == ["Could be A2C", "Poor window, apex cut off"]
    assert [r[2] for r in rows(expert=a.pk)] == ["wrong view", "Poor window, apex cut off"]
    assert [r[2] for r in rows(q="APEX")] == ["Poor window, apex cut off"]
    assert rows(q="view", kind="feedback") == []
    html = client.get(url).content.decode()
    assert f'href="{item_url(project, items[1])}"' in html
    # Pages of PAGE_SIZE rows.
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    first, second = client.get(url).context["page"], client.get(url, {"page": 2}).context["page"]
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (3, 2, 2, 1)
    assert second.rows[0].text == "Poor window, apex cut off"


def test_the_dashboard_and_the_admin_project_list_link_to_the_review(client, panel):
    project, _, _ = panel
    client.force_login(make_user("boss", staff=True))
    review = reverse("quality_review", args=[project.slug])
    assert f'href="{review}"' in client.get(reverse("quality_dashboard", args=[project.slug])).content.decode()
    assert f'href="{review}"' in client.get(reverse("admin:projects_project_changelist")).content.decode()


@pytest.mark.parametrize("kind", ["classification", "keypoints", "temporal", "ranking"])
def test_an_item_without_answers_opens_with_nothing_to_compare(client, kind):
    extra = {"label_schema": TEMPORAL_SCHEMA} if kind == "temporal" else {}
    project = project_with_items(kind, items=1, slug=f"empty-{kind}", **extra)
    client.force_login(make_user("boss", staff=True))
    response = client.get(item_url(project, items_of(project)[0]))
    assert response.status_code == 200
    assert response.context["review"].answers == []
    assert "No answers yet." in response.content.decode()
    assert client.get(list_url(project)).context["page"].total == 0


def test_ranking_items_are_listed_by_their_ratings_uncertainty(client):
    a, b, c = make_user("rl-a"), make_user("rl-b"), make_user("rl-c")
    project = project_with_items(
        "ranking", a, b, c, items=6, slug="review-rl", batch_size=3, rating_period_judgements=1
    )
    items = items_of(project)
    first, second = items[:3], items[3:]
    for expert in (a, b, c):
        answer(project, expert, first, {"ordering": [i.pk for i in first], "ties": []})
    answer(project, a, second, {"ordering": [i.pk for i in second], "ties": []})
    do_close_rating_periods(project.pk)  # the fold a worker runs after each judgement
    periods = RatingState.objects.get(project=project).periods
    rd = {r.item_id: r.effective_rd(periods) for r in ItemRating.objects.filter(project=project)}
    assert len(rd) == 6
    client.force_login(make_user("boss", staff=True))
    page = client.get(list_url(project)).context["page"]
    assert [r.item_id for r in page.rows] == sorted(rd, key=lambda i: (-rd[i], i))
    assert [r.score for r in page.rows] == pytest.approx(sorted(rd.values(), reverse=True))
    # The items seen once are less certain than those ordered three times.
    assert {r.item_id for r in page.rows[:3]} == {i.pk for i in second}
    assert {r.item_id: r.answers for r in page.rows} == {i.pk: 3 if i in first else 1 for i in items}
