"""Property-based fuzzing of the labelling API: for every endpoint and every project kind,
generated bodies (arbitrary JSON, answers shaped almost right, bytes that are not JSON, other
content types) never get a 5xx, always get JSON (a refusal is ``{"code", "detail"}``), and never
store a judgement, skip or renewal that the body did not validly ask for.

Derandomized, so CI runs the same examples every time; EXAMPLES bodies per endpoint and kind.
"""

from __future__ import annotations

import json
import logging
import uuid
from functools import cache

import numpy as np
import pytest
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from annotations.answers import AnswerError, validate_answer
from annotations.models import Judgement, Task
from annotations.selectors import issued_items
from annotations.services import MAX_OPEN_TASKS, do_issue_next_task
from tests.factories import project_with_items

pytestmark = pytest.mark.django_db

KINDS = ["ranking", "classification", "keypoints", "temporal"]
EXAMPLES = {"judgement": 500, "next": 500, "skip": 500, "task": 500}  # "task": renew, and read: 2,000 each

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz(endpoint: str) -> settings:
    return settings(FUZZ, max_examples=EXAMPLES[endpoint])


# --- Strategies ------------------------------------------------------------------------------

# Any character, with NUL and lone surrogates often: PostgreSQL stores neither.
TEXT = st.text(st.characters(exclude_categories=()) | st.sampled_from(["\x00", "\ud800", "\udfff"]), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 2**63, -(2**31)])
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12
)
FRAMES = st.integers(-1, 40)  # the test clips have 40 frames
CONTENT_TYPES = st.sampled_from(
    ["application/json"] * 8
    + ["application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the shaped value; one time in six arbitrary JSON in its place."""
    return st.integers(0, 5).flatmap(lambda pick: strategy if pick else JSON)


def answers(kind: str, item_ids: tuple[int, ...]) -> st.SearchStrategy:
    """Answers shaped almost right for the issued items, wrong at any level."""
    if kind == "ranking":
        ids = st.sampled_from(item_ids) | st.integers(-2, 10**6)
        return st.fixed_dictionaries(
            {"ordering": maybe(st.permutations(item_ids) | st.lists(ids, max_size=5))},
            optional={"ties": maybe(st.lists(maybe(st.lists(maybe(ids), max_size=3)), max_size=2))},
        )
    if kind == "classification":
        return st.fixed_dictionaries({"class": maybe(st.sampled_from(["a4c", "none_of_the_above", "not_sure", "x"]))})
    if kind == "keypoints":
        coordinate = st.integers(-5, 400) | st.floats(-5, 400) | st.sampled_from([10**400, -(10**400), 1e300])
        point = maybe(st.tuples(coordinate, coordinate).map(list) | st.lists(coordinate, max_size=3))

        def label(fewest: int, most: int) -> st.SearchStrategy:
            placed = st.fixed_dictionaries(
                {"state": st.just("placed"), "points": st.lists(point, min_size=fewest, max_size=most)}
            )
            unplaced = st.fixed_dictionaries(
                {"state": st.sampled_from(["off", "blurred", "gone"])}, optional={"points": st.lists(point, max_size=1)}
            )
            return maybe(placed | unplaced)

        labels = st.fixed_dictionaries({"apex": label(0, 2), "lv": label(2, 5)})
        return st.fixed_dictionaries({"frame": maybe(FRAMES), "labels": maybe(labels)})

    def event(key: st.SearchStrategy, beat: st.SearchStrategy) -> st.SearchStrategy:
        return maybe(st.fixed_dictionaries({"key": maybe(key), "frame": maybe(FRAMES), "beat": maybe(beat)}))

    # ED and ES of a few beats (an answer when nothing is off), then maybe a stray event.
    beat = st.integers(1, 3).flatmap(
        lambda b: st.tuples(event(st.just("ed"), st.just(b)), event(st.just("es"), st.just(b)))
    )
    stray = event(st.sampled_from(["ed", "es", "x"]), st.integers(0, 6))
    events = st.tuples(st.lists(beat, max_size=2), st.lists(stray, max_size=1))
    return st.fixed_dictionaries(
        {"events": maybe(events.map(lambda parts: [e for b in parts[0] for e in b] + parts[1]))}
    )


def bodies(shaped: st.SearchStrategy) -> st.SearchStrategy:
    """(body, content type): mostly JSON bodies shaped for the endpoint, also any JSON and junk."""
    encoded = st.one_of(shaped, shaped, shaped, JSON).map(json.dumps)
    return st.tuples(st.one_of(encoded, encoded, encoded, st.binary(max_size=40)), CONTENT_TYPES)


@cache
def judgement_bodies(kind: str, item_ids: tuple[int, ...]) -> st.SearchStrategy:
    return bodies(
        st.fixed_dictionaries(
            {"answer": maybe(answers(kind, item_ids))},
            optional={
                "not_sure": maybe(st.booleans()),
                "feedback": maybe(TEXT),
                "time_on_task_ms": maybe(st.integers(-10, 10**30)),
                "client_info": maybe(st.dictionaries(st.sampled_from(["viewport", "pointer", "x"]), JSON, max_size=3)),
            },
        )
    )


# --- The world the requests meet --------------------------------------------------------------


class World:
    """One project of ``kind``: expert_a works in it; expert_b holds a task of their own."""

    def __init__(self, kind: str, expert, other) -> None:
        self.kind, self.expert = kind, expert
        self.project = project_with_items(
            kind, expert, other, items=30, batch_size=3, allow_repeats=True, target_views_per_item=1000
        )
        self.rng = np.random.default_rng(0)
        self.others_task = do_issue_next_task(self.project, expert=other, rng=self.rng)
        self.judgements = 0
        self._task: Task | None = None
        self.item_ids: tuple[int, ...] = ()

    def task(self) -> Task:
        """The expert's open task; a new one once the last was answered or skipped (``closed``)."""
        if self._task is None:
            self._task = do_issue_next_task(self.project, expert=self.expert, rng=self.rng)
            self.item_ids = tuple(sorted(item.id for item in issued_items(self._task)))
        return self._task

    def closed(self) -> None:
        self._task = None


@pytest.fixture
def world(request, client, caplog, expert_a, expert_b):
    client.force_login(expert_a)
    # Thousands of 4xx answers: Django's "Bad Request" warning for each is noise, and slow.
    caplog.set_level(logging.ERROR, logger="django.request")
    return World(request.param, expert_a, expert_b)


def checked(response) -> dict:
    """Never a 5xx; always JSON; every refusal ``{"code": str, "detail": ...}``."""
    event(f"HTTP {response.status_code}")  # shown by --hypothesis-show-statistics
    assert response.status_code < 500, response.content[:500]
    assert response["Content-Type"] == "application/json", response.content[:500]
    body = response.json()
    if response.status_code >= 400:
        assert set(body) == {"code", "detail"} and isinstance(body["code"], str) and body["detail"], body
    return body


def is_valid(kind: str, answer: object, task: Task) -> bool:
    try:
        validate_answer(kind, answer, issued_items(task), task.project.label_schema)
    except AnswerError:
        return False
    return True


def send(client, method: str, url: str, body: str | bytes, content_type: str):
    return client.generic(method, url, body, content_type=content_type)


# --- Properties -------------------------------------------------------------------------------

all_kinds = pytest.mark.parametrize("world", KINDS, indirect=True)


@all_kinds
@fuzz("judgement")
@given(data=st.data())
def test_answers_never_fail_and_only_valid_ones_are_stored(client, world, data):
    task = world.task()
    body, content_type = data.draw(judgement_bodies(world.kind, world.item_ids))
    response = send(client, "POST", reverse("api_judgement", args=[task.pk]), body, content_type)
    checked(response)
    if response.status_code == 201:
        answer = json.loads(body)["answer"]
        assert is_valid(world.kind, answer, task), answer
        world.judgements += 1
        world.closed()
    assert Judgement.objects.count() == world.judgements


@all_kinds
@fuzz("next")
@given(data=st.data())
def test_asking_for_the_next_task_never_fails(client, world, data):
    mine = [str(pk) for pk in Task.objects.filter(expert=world.expert).values_list("pk", flat=True)]
    # Drawn as positions in the expert's tasks, so the draws do not depend on how many there are.
    own = st.integers(0, 4).map(lambda i: mine[i] if i < len(mine) else str(uuid.uuid4()))
    exclude = st.lists(maybe(own | st.uuids().map(str)), max_size=12)
    body, content_type = data.draw(bodies(st.fixed_dictionaries({}, optional={"exclude": maybe(exclude)})))
    checked(send(client, "POST", reverse("api_next_task", args=[world.project.slug]), body, content_type))
    open_tasks = Task.objects.filter(project=world.project, expert=world.expert, status=Task.Status.ISSUED)
    assert open_tasks.count() <= MAX_OPEN_TASKS
    assert not Judgement.objects.exists()


@all_kinds
@fuzz("skip")
@given(data=st.data())
def test_skipping_never_fails_and_only_a_reason_skips(client, world, data):
    task = world.task()
    body, content_type = data.draw(bodies(st.fixed_dictionaries({}, optional={"reason": maybe(TEXT)})))
    response = checked(send(client, "POST", reverse("api_skip", args=[task.pk]), body, content_type))
    task.refresh_from_db()
    if task.status == Task.Status.SKIPPED:
        assert response == {"task": str(task.pk), "status": "skipped"}
        reason = json.loads(body)["reason"]  # text, or a number REST framework reads as text
        assert isinstance(reason, (str, int, float)) and not isinstance(reason, bool) and str(reason).strip()
        world.closed()
    else:
        assert task.status == Task.Status.ISSUED


def task_ids(world: World) -> st.SearchStrategy:
    """The expert's open task, someone else's, or one that does not exist."""
    return st.sampled_from(["mine", "theirs", "none"]).map(
        lambda which: {"mine": world.task().pk, "theirs": world.others_task.pk, "none": uuid.uuid4()}[which]
    )


@all_kinds
@pytest.mark.parametrize(("method", "name"), [("POST", "api_renew"), ("GET", "api_task")], ids=["renew", "read"])
@fuzz("task")
@given(data=st.data())
def test_renewing_or_reading_a_task_never_fails_and_reaches_only_the_experts_task(client, world, method, name, data):
    task_id = data.draw(task_ids(world))
    body, content_type = data.draw(bodies(JSON))
    response = checked(send(client, method, reverse(name, args=[task_id]), body, content_type))
    assert ("task" in response) == (task_id == world.task().pk)
