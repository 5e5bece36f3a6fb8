"""A retrain travels through Redis to a real worker on the learning queue."""

import pytest
from django.db import transaction

from activelearning.models import LearningRun, LearningSettings, Prediction
from activelearning.services import do_request_retrain
from tests.conftest import need, redis_reachable
from tests.learning_helpers import answer_class, true_key, views_project
from tests.workers import ROOT, celery_worker, wait_until
from unity.celery import app as celery_app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_learning_worker_runs_a_retrain_and_the_queue_serves(expert_a, monkeypatch):
    need(redis_reachable(), "Redis is not configured or not running")
    # The worker is another process: it reads its training length from the environment.
    monkeypatch.setenv("UNITY_LEARNING_MAX_STEPS", "30")
    monkeypatch.setenv("UNITY_LEARNING_THREADS", "1")
    project, found, items = views_project(30, expert_a, slug="al-worker")
    for i in range(12):
        answer_class(project, expert_a, items[i], true_key(found, i))
    LearningSettings.objects.create(project=project, enabled=True, min_labels=8, mc_passes=5, diverse_head=5)
    log_path = ROOT / "var" / "test" / "learning-worker.log"
    celery_app.control.purge()
    with celery_worker(queues="learning", log_path=log_path):
        with transaction.atomic():
            run = do_request_retrain(project, LearningRun.Trigger.ADMIN)
        finished = {LearningRun.Status.DONE, LearningRun.Status.FAILED, LearningRun.Status.UNCHANGED}
        assert wait_until(lambda: LearningRun.objects.get(pk=run.pk).status in finished, timeout=180)
    run.refresh_from_db()
    assert run.status == LearningRun.Status.DONE, run.error
    assert LearningSettings.objects.get(project=project).serving_id == run.version_id
    assert Prediction.objects.filter(version=run.version, rank__isnull=False).count() == 18
    assert f"learning run {run.pk} for project {project.pk}: done" in log_path.read_text()
