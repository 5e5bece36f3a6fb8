"""Gold items are mixed into an expert's queue at the project's rate, never twice to one expert
through the gold path, and look like any other task. At rate 0 issuing does not read them.

Setup: the gold items already have their target views (a first expert answered each), so the
normal issuer never picks them: every task on a gold item came through the gold path."""

import json

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from scipy.stats import binom

from annotations.models import GoldAnswer, TaskItem
from annotations.services import do_issue_next_task, do_issue_task, do_skip_task, do_submit_judgement
from media_ingest.models import ProjectItem
from projects.models import Project
from projects.services import do_add_member
from tests.factories import project_items, ready_clip
from tests.support import make_project, make_user

pytestmark = pytest.mark.django_db
GOLD_TABLE = GoldAnswer._meta.db_table


def gold_project(*experts, gold: int, normal: int, rate: float, slug: str) -> Project:
    """A classification project (target views 1) whose members are ``experts``: ``gold`` gold
    items, each already answered once by a seeding expert, then ``normal`` fresh items."""
    seeder = make_user(f"{slug}-seeder")
    project = make_project(slug=slug, target_views_per_item=1, gold_rate=rate)
    for expert in (seeder, *experts):
        do_add_member(project, user=expert)
    rng = np.random.default_rng(0)
    for index in range(gold):
        item = ProjectItem.objects.create(project=project, clip=ready_clip(f"{slug}-gold-{index}"))
        GoldAnswer.objects.create(item=item, answer={"class": "a4c"})
        task = do_issue_task(project, expert=seeder, items=[item], rng=rng)
        do_submit_judgement(task.pk, expert=seeder, answer={"class": "a4c"})
    for index in range(normal):
        ProjectItem.objects.create(project=project, clip=ready_clip(f"{slug}-{index}"))
    return project


def gold_ids(project: Project) -> set[int]:
    return set(GoldAnswer.objects.filter(item__project=project).values_list("item_id", flat=True))


def issue_and_close(project, expert, rng, *, count: int, skip_gold: bool = False) -> list[int]:
    """``count`` next tasks, each answered (or, for a gold item when ``skip_gold``, skipped):
    the item of each, in order."""
    gold = gold_ids(project)
    issued = []
    for _ in range(count):
        task = do_issue_next_task(project, expert=expert, rng=rng)
        assert task is not None, f"nothing left after {len(issued)} tasks"
        item = TaskItem.objects.get(task=task).item_id
        issued.append(item)
        if skip_gold and item in gold:
            do_skip_task(task.pk, expert=expert, reason="poor image quality")
        else:
            do_submit_judgement(task.pk, expert=expert, answer={"class": "a4c"})
    return issued


def test_gold_tasks_come_at_the_project_rate(expert_a):
    """500 issues at rate 0.2: the number of gold tasks lies in the binomial(500, 0.2) central
    99.9% interval (about 71 to 130)."""
    n, rate = 500, 0.2
    project = gold_project(expert_a, gold=160, normal=480, rate=rate, slug="gold-rate")
    issued = issue_and_close(project, expert_a, np.random.default_rng(11), count=n)
    gold_tasks = sum(item in gold_ids(project) for item in issued)
    low, high = binom.ppf(0.0005, n, rate), binom.ppf(0.9995, n, rate)
    assert low <= gold_tasks <= high, (low, gold_tasks, high)
    assert len(set(issued)) == n  # every task a different item


def test_no_gold_task_at_rate_zero(expert_a):
    project = gold_project(expert_a, gold=20, normal=60, rate=0.0, slug="gold-zero")
    issued = issue_and_close(project, expert_a, np.random.default_rng(12), count=60)
    assert not gold_ids(project) & set(issued)


def test_an_expert_never_gets_the_same_gold_item_twice_through_the_gold_path(expert_a, expert_b):
    """Rate 0.5 and 4 gold items over 30 tasks each: every expert gets each gold item once (a
    skipped gold task counts as issued), then the normal issuer serves every other request."""
    project = gold_project(expert_a, expert_b, gold=4, normal=70, rate=0.5, slug="gold-once")
    gold = gold_ids(project)
    for expert, seed in ((expert_a, 21), (expert_b, 22)):
        issued = issue_and_close(project, expert, np.random.default_rng(seed), count=30, skip_gold=True)
        assert sorted(item for item in issued if item in gold) == sorted(gold)
        assert len(set(issued)) == 30


def test_inactive_gold_items_are_not_issued(expert_a):
    project = gold_project(expert_a, gold=3, normal=20, rate=0.5, slug="gold-inactive")
    ProjectItem.objects.filter(pk__in=gold_ids(project)).update(is_active=False)
    issued = issue_and_close(project, expert_a, np.random.default_rng(13), count=20)
    assert not gold_ids(project) & set(issued)


def test_issuing_reads_gold_items_only_when_the_rate_is_above_zero(expert_a):
    """Rate 0: no statement of an issue names the gold table. Rate 0.5: at most one per issue,
    and some issues do read it. Ranking: never (no gold for ranking)."""
    zero = gold_project(expert_a, gold=5, normal=20, rate=0.0, slug="gold-q0")
    half = gold_project(expert_a, gold=5, normal=20, rate=0.5, slug="gold-q5")
    ranking = make_project("ranking", slug="gold-qr", gold_rate=0.5, batch_size=3)
    do_add_member(ranking, user=expert_a)
    project_items(ranking, 9)
    rng = np.random.default_rng(14)
    reads = {}
    for project in (zero, half, ranking):
        per_issue = []
        for _ in range(10):
            with CaptureQueriesContext(connection) as queries:
                task = do_issue_next_task(project, expert=expert_a, rng=rng)
            per_issue.append(sum(GOLD_TABLE in q["sql"] for q in queries.captured_queries))
            do_skip_task(task.pk, expert=expert_a, reason="wrong view")
        reads[project.slug] = per_issue
    assert reads["gold-q0"] == [0] * 10
    assert max(reads["gold-q5"]) == 1 and sum(reads["gold-q5"]) >= 1
    assert reads["gold-qr"] == [0] * 10


def shape(value: object) -> object:
    """The keys and types of a JSON value, values left out."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def test_a_gold_task_looks_like_any_other(client, expert_a):
    """Issued through the gold path and through the normal one, the two tasks' payloads have the
    same keys and shapes, and no word of gold."""
    project = gold_project(expert_a, gold=1, normal=1, rate=0.5, slug="look-alike")
    [gold_item] = gold_ids(project)
    rng = np.random.default_rng(0)
    tasks = {}
    while len(tasks) < 2:
        task = do_issue_next_task(project, expert=expert_a, rng=rng)
        assert task is not None
        tasks["gold" if TaskItem.objects.get(task=task).item_id == gold_item else "normal"] = task
        do_skip_task(task.pk, expert=expert_a, reason="wrong view")
    client.force_login(expert_a)
    payloads = {label: client.get(reverse("api_task", args=[task.pk])).json()["task"] for label, task in tasks.items()}
    assert payloads["gold"]["items"][0]["id"] == gold_item
    assert shape(payloads["gold"]) == shape(payloads["normal"])
    assert "gold" not in json.dumps(payloads["gold"]).lower()
