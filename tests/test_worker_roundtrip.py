"""A task queued by a service after commit travels through Redis to a real worker process."""

import pytest
from django.test import Client

from projects.models import ProjectMembership
from projects.services import do_allow_list_emails
from tests.conftest import make_project, make_user, need, redis_reachable
from tests.workers import celery_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_allow_list_sync_runs_in_a_real_worker_and_healthz_sees_it():
    need(redis_reachable(), "Redis is not configured or not running")
    project = make_project(slug="worker-project")
    existing = make_user("already-signed-in", email="invited@hospital.example")
    with celery_worker():
        assert Client().get("/healthz").status_code == 200
        do_allow_list_emails(project, emails=["Invited@Hospital.example"])
        assert wait_until(lambda: ProjectMembership.objects.filter(project=project, user=existing).exists())


def test_nothing_is_queued_when_the_transaction_rolls_back():
    need(redis_reachable(), "Redis is not configured or not running")
    from django.db import transaction

    project = make_project(slug="rolled-back")
    make_user("would-join", email="would-join@hospital.example")
    with celery_worker():
        with pytest.raises(RuntimeError), transaction.atomic():
            do_allow_list_emails(project, emails=["would-join@hospital.example"])
            raise RuntimeError("admin form failed")
        # A later, committed change proves the worker is alive and processing in order.
        make_user("second", email="second@hospital.example")
        do_allow_list_emails(project, emails=["second@hospital.example"])
        assert wait_until(lambda: ProjectMembership.objects.filter(project=project, user__username="second").exists())
        assert not ProjectMembership.objects.filter(project=project, user__username="would-join").exists()
