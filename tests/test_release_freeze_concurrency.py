"""Freezing a release waits for answers being recorded at that moment: a judgement whose id was
taken before the freeze but committed after it would otherwise appear in a later rebuild of the
same version (ids come from a sequence; transactions commit in any order). PostgreSQL."""

import threading

import numpy as np
import pytest
from django.db import connection, transaction

from annotations.models import Judgement
from annotations.services import do_issue_next_task, do_submit_judgement
from datasets.services import do_create_release
from tests.factories import project_with_items
from tests.support import is_postgres, make_user, need

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_a_freeze_waits_for_a_judgement_still_being_recorded():
    need(is_postgres(), "needs PostgreSQL")
    expert = make_user("slow-expert")
    project = project_with_items("classification", expert, items=3, slug="freeze-race")
    task = do_issue_next_task(project, expert=expert, rng=np.random.default_rng(0))
    inserted, release_it = threading.Event(), threading.Event()
    ids: list[int] = []

    def slow_submit() -> None:
        try:
            with transaction.atomic():  # the judgement's row exists, uncommitted, until release_it
                judgement, _ = do_submit_judgement(task.pk, expert=expert, answer={"class": "a4c"})
                ids.append(judgement.pk)
                inserted.set()
                release_it.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_submit)
    writer.start()
    assert inserted.wait(10)
    frozen: list = []

    def freeze() -> None:
        try:
            frozen.append(do_create_release(project, title="race", queue=False))
        finally:
            connection.close()

    freezer = threading.Thread(target=freeze)
    freezer.start()
    freezer.join(1.0)
    assert freezer.is_alive(), "the freeze must wait for the transaction inserting a judgement"
    release_it.set()
    writer.join(10)
    freezer.join(10)
    assert Judgement.objects.filter(pk=ids[0]).exists()
    assert frozen[0].last_judgement_id >= ids[0]
