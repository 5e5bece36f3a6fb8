"""The learning loop on the database: versions, the queue, the issuer reading it, failures.

Clips are synthetic views whose truth the test knows (tests.learning_helpers); answers go through
the real services. Training is cut to a few dozen steps (settings.ACTIVE_LEARNING): these tests
prove the loop's bookkeeping, bench/learning_simulation.py measures what the models learn.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from activelearning.models import LearningRun, LearningSettings, ModelVersion, Prediction
from activelearning.processing import do_queue_due_runs, do_run
from activelearning.selectors import consensus_labels
from annotations.models import Judgement, Task
from annotations.services import do_issue_next_task, do_submit_judgement
from media_ingest.models import ProjectItem
from media_ingest.synthetic_views import sample_pool
from tests.learning_helpers import answer_class, true_key, views_project

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots", "small_training")]


@pytest.fixture
def small_training(settings):
    settings.ACTIVE_LEARNING = {"size": 32, "width": 8, "min_steps": 30, "max_steps": 30, "threads": 1}


def enable(project, **fields) -> LearningSettings:
    fields = {"enabled": True, "min_labels": 8, "mc_passes": 5, "diverse_head": 6, **fields}
    learning, _ = LearningSettings.objects.update_or_create(project=project, defaults=fields)
    return learning


def retrain(project) -> LearningRun:
    run = LearningRun.objects.create(project=project, trigger=LearningRun.Trigger.ADMIN)
    run = do_run(run.pk)
    project.refresh_from_db()  # as each request reads it: the issuer follows queue_version
    return run


@pytest.fixture
def labelled(expert_a):
    """40 views, the first 16 answered with their true view by expert A; learning on."""
    project, found, items = views_project(40, expert_a, slug="al-loop")
    for i in range(16):
        answer_class(project, expert_a, items[i], true_key(found, i))
    enable(project)
    return project, found, items


def test_the_same_labels_retrain_to_one_version(labelled, expert_a):
    project, found, items = labelled
    first = retrain(project)
    assert first.status == LearningRun.Status.DONE, first.error
    version = first.version
    assert version.kind == ModelVersion.Kind.VIEW and version.label_count == 16
    assert set(map(int, version.labels)) == {item.pk for item in items[:16]}
    assert "accuracy" in version.metrics and version.metrics["held_out"] + version.metrics["train"] == 16
    assert version.weights and len(bytes(version.weights)) > 1000
    # Every item is scored; only the 24 unanswered ones (target 1) are queued, ranks 0..23.
    assert Prediction.objects.filter(version=version).count() == 40
    queued = Prediction.objects.filter(version=version, rank__isnull=False)
    assert set(queued.values_list("item_id", flat=True)) == {item.pk for item in items[16:]}
    assert sorted(queued.values_list("rank", flat=True)) == list(range(24))

    again = retrain(project)
    assert again.status == LearningRun.Status.UNCHANGED and again.version_id == version.pk
    assert ModelVersion.objects.filter(project=project).count() == 1

    answer_class(project, expert_a, items[16], true_key(found, 16))
    third = retrain(project)
    assert third.status == LearningRun.Status.DONE and third.version.number == 2
    assert LearningSettings.objects.get(project=project).serving_id == third.version_id


def test_a_redelivered_run_message_does_nothing(labelled):
    project, *_ = labelled
    run = retrain(project)
    assert do_run(run.pk).status == run.status
    assert ModelVersion.objects.filter(project=project).count() == 1


def test_a_failing_run_keeps_the_previous_queue_and_shows_the_error(labelled, expert_a, admin_user, client):
    project, found, items = labelled
    serving = retrain(project).version
    # A clip's grey array is lost from storage, and new labels ask for a retrain.
    default_storage.delete(items[30].clip.array_name)
    answer_class(project, expert_a, items[17], true_key(found, 17))
    failed = retrain(project)
    assert failed.status == LearningRun.Status.FAILED
    assert f"item {items[30].pk}" in failed.error and "grey array" in failed.error
    assert LearningSettings.objects.get(project=project).serving_id == serving.pk
    assert ModelVersion.objects.filter(project=project).count() == 1
    # The previous queue still serves: the next task is its best-ranked item still open.
    best = (
        Prediction.objects.filter(version=serving, rank__isnull=False)
        .exclude(item=items[17])
        .order_by("rank")
        .values_list("item_id", flat=True)
        .first()
    )
    task = do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng(0))
    assert [item.pk for item in task.items.all()] == [best]
    # The admin sees the failure on the project's learning page.
    client.force_login(admin_user)
    learning = LearningSettings.objects.get(project=project)
    page = client.get(reverse("admin:activelearning_learningsettings_change", args=[learning.pk]))
    assert page.status_code == 200
    assert f"item {items[30].pk}" in page.content.decode()


def test_the_issuer_never_hands_out_an_item_whose_labels_are_complete(labelled, expert_a, expert_b):
    project, _found, items = labelled
    version = retrain(project).version
    from projects.services import do_add_member

    do_add_member(project, user=expert_b)
    order = list(
        Prediction.objects.filter(version=version, rank__isnull=False)
        .order_by("rank")
        .values_list("item_id", flat=True)
    )
    # Expert B completes the top of the queue (target 1) before expert A asks.
    top = ProjectItem.objects.get(pk=order[0])
    answer_class(project, expert_b, top, "a4c")
    rng = np.random.default_rng(0)
    issued = []
    while (task := do_issue_next_task(project, expert=expert_a, rng=rng)) is not None:
        [item] = task.items.all()
        assert item.judgement_count < project.target_views_per_item
        issued.append(item.pk)
        do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
    assert top.pk not in issued
    assert issued == order[1:]  # the queue's order, then nothing: every item is complete
    assert not set(issued) & {item.pk for item in items[:16]}


def test_items_in_flight_go_to_others_first_and_ties_to_the_least_recently_served(expert_a, expert_b):
    project, _found, _items = views_project(12, expert_a, expert_b, slug="al-flight", target_views_per_item=2)
    enable(project, min_labels=100)  # a cold start: diversity only
    version = retrain(project).version
    assert version.kind == ModelVersion.Kind.COLD_START
    order = list(
        Prediction.objects.filter(version=version, rank__isnull=False)
        .order_by("rank")
        .values_list("item_id", flat=True)
    )
    rng = np.random.default_rng(0)
    first = do_issue_next_task(project, expert=expert_a, rng=rng)
    second = do_issue_next_task(project, expert=expert_b, rng=rng)
    assert [i.pk for i in first.items.all()] == [order[0]]
    assert [i.pk for i in second.items.all()] == [order[1]]  # order[0] is in flight with A
    # Two items of equal score: the one never served comes first, then the least recent.
    Prediction.objects.filter(version=version).update(uncertainty=0.5, diversity=1.0)
    served = set(Prediction.objects.filter(served_at__isnull=False).values_list("item_id", flat=True))
    assert served == {order[0], order[1]}
    do_submit_judgement(first.pk, expert=expert_a, answer={"class": "a4c"})
    third = do_issue_next_task(project, expert=expert_a, rng=rng)
    assert [i.pk for i in third.items.all()] == [order[2]]


def test_model_predictions_never_enter_consensus_or_answers(labelled, expert_a):
    project, _found, _items = labelled
    before = consensus_labels(project)
    judgements = Judgement.objects.count()
    version = retrain(project).version
    predicted = dict(Prediction.objects.filter(version=version).values_list("item_id", "value"))
    assert len(predicted) == 40 and all("class" in value for value in predicted.values())
    assert consensus_labels(project) == before
    assert Judgement.objects.count() == judgements
    assert not Task.objects.filter(project=project).exclude(expert=expert_a).exists()


def test_the_periodic_check_retrains_after_enough_new_labels(labelled, expert_a):
    project, found, items = labelled
    learning = enable(project, retrain_every=3, retrain_hours=0)
    [run_id] = [run.pk for run in do_queue_due_runs()]  # no version yet
    do_run(run_id)
    assert do_queue_due_runs() == []
    for i in range(16, 18):
        answer_class(project, expert_a, items[i], true_key(found, i))
    assert do_queue_due_runs() == []  # two new labels, three asked for
    answer_class(project, expert_a, items[18], true_key(found, 18))
    [run_id] = [run.pk for run in do_queue_due_runs()]
    assert LearningRun.objects.get(pk=run_id).trigger == LearningRun.Trigger.LABELS
    assert do_queue_due_runs() == []  # one queued already
    assert do_run(run_id).status == LearningRun.Status.DONE
    learning.refresh_from_db()
    assert learning.serving.label_count == 19


def test_temporal_projects_fail_with_a_clear_message(expert_a):
    from tests.support import make_project

    project = make_project("temporal", slug="al-temporal")
    enable(project)
    run = retrain(project)
    assert run.status == LearningRun.Status.FAILED and "no learner" in run.error


def test_turning_learning_off_returns_the_project_to_least_covered(labelled, expert_a):
    project, _found, items = labelled
    retrain(project)
    assert project.queue_version is not None
    learning = LearningSettings.objects.get(project=project)
    learning.enabled = False
    learning.save()
    project.refresh_from_db()
    assert project.queue_version is None
    task = do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng(0))
    # Least covered: no answers on items 16.., issued in id order within the tier at random;
    # never one of the answered (complete) ones.
    [item] = task.items.all()
    assert item.pk in {i.pk for i in items[16:]}


def test_model_predictions_never_reach_a_release(expert_a, expert_b, tmp_path):
    from tests.test_release_build import CLASSES, answer_all, build, ingest_clips, member_project, text_files

    project = member_project(
        "classification",
        [expert_a, expert_b],
        label_schema={"classes": CLASSES},
        target_views_per_item=2,
        slug="al-rel",
    )
    ingest_clips(project, tmp_path)  # real ingest: the grey arrays the learner reads
    answer_all(project, [expert_a, expert_b], lambda expert, items: {"class": "a4c" if expert == expert_a else "plax"})
    _, path = build(project)
    before = {name: text for name, text in text_files(path).items() if name.startswith("labels/")}
    enable(project, min_labels=2)
    version = retrain(project).version
    assert version.kind == ModelVersion.Kind.VIEW
    # The pseudo-expert says a2c everywhere, a class no expert chose.
    Prediction.objects.filter(version=version).update(value={"class": "a2c", "probability": 1.0})
    _, path = build(project)
    after = {name: text for name, text in text_files(path).items() if name.startswith("labels/")}
    # Expert pseudonyms are per release; the consensus and the answers' classes are as before.
    assert after["labels/consensus.csv"] == before["labels/consensus.csv"]

    def classes(text: str) -> list[str]:
        return sorted(row.split(",")[2] for row in text.splitlines()[1:])

    assert classes(after["labels/answers.csv"]) == classes(before["labels/answers.csv"]) == ["a4c"] * 6 + ["plax"] * 6
    assert "a2c" not in after["labels/consensus.csv"]


def test_a_ranking_project_grows_its_rated_set_from_the_quality_queue(expert_a):
    from activelearning.services import do_grow_ranking_pool
    from ranking.models import ItemRating
    from tests.learning_helpers import store_clip
    from tests.support import make_project

    project = make_project("ranking", slug="al-ranking")
    found = sample_pool(40, seed=3)
    items = [
        ProjectItem.objects.create(
            project=project,
            clip=store_clip(f"al-ranking-{i}", found.images[i][None], study=f"rk-{i}"),
            is_active=i < 12,
        )
        for i in range(40)
    ]
    # The 12 active clips were rated: their consensus score is their known quality.
    for item, quality in zip(items[:12], found.quality[:12], strict=True):
        ItemRating.objects.create(
            item=item, project=project, rating=1500, rd=100, volatility=0.06, views=3, score=float(quality)
        )
    enable(project, min_labels=8, diverse_head=5)
    version = retrain(project).version
    assert version.kind == ModelVersion.Kind.QUALITY and version.label_count == 12
    scored = dict(Prediction.objects.filter(version=version).values_list("item_id", "value"))
    assert len(scored) == 40 and all("score" in value for value in scored.values())
    queue = list(
        Prediction.objects.filter(version=version, rank__isnull=False)
        .order_by("rank")
        .values_list("item_id", flat=True)
    )
    assert set(queue) == {item.pk for item in items[12:]}  # only clips not yet in the rated set
    assert do_grow_ranking_pool(project, 10) == 10
    active = set(ProjectItem.objects.filter(project=project, is_active=True).values_list("pk", flat=True))
    assert active == {item.pk for item in items[:12]} | set(queue[:10])


def test_an_item_whose_answers_complete_leaves_the_serving_queue(
    labelled, expert_a, django_capture_on_commit_callbacks
):
    project, _found, _items = labelled
    version = retrain(project).version
    task = do_issue_next_task(project, expert=expert_a, rng=np.random.default_rng(0))
    [item] = task.items.all()
    assert Prediction.objects.get(version=version, item=item).rank is not None
    with django_capture_on_commit_callbacks(execute=True):
        do_submit_judgement(task.pk, expert=expert_a, answer={"class": "a4c"})
    assert Prediction.objects.get(version=version, item=item).rank is None  # target 1: complete
    assert Prediction.objects.filter(version=version, rank__isnull=False).count() == 23


def test_the_admin_pages_answer_before_any_version(client, admin_user, expert_a):
    project, _found, _items = views_project(4, expert_a, slug="al-admin")
    learning = enable(project)
    client.force_login(admin_user)
    assert client.get(reverse("admin:activelearning_learningsettings_changelist")).status_code == 200
    page = client.get(reverse("admin:activelearning_learningsettings_change", args=[learning.pk]))
    assert page.status_code == 200 and "No version yet" in page.content.decode()
    assert client.get(reverse("admin:activelearning_modelversion_changelist")).status_code == 200
    assert client.get(reverse("admin:activelearning_learningrun_changelist")).status_code == 200
    # "Retrain now" records a run (its task is queued after commit).
    response = client.post(
        reverse("admin:activelearning_learningsettings_changelist"),
        {"action": "retrain_now", "_selected_action": [learning.pk]},
    )
    assert response.status_code == 302
    assert LearningRun.objects.filter(project=project, trigger=LearningRun.Trigger.ADMIN).count() == 1
