import functools

from celery import shared_task
from django.core.cache import cache
from django.db import transaction

from projects.models import Project
from quality.review.services import do_refresh_review_order
from quality.services import do_refresh_active_dashboards


@shared_task(acks_late=True)
def refresh_dashboards() -> int:
    """Periodic (beat, every minute): recompute the dashboards of projects with recent answers."""
    return do_refresh_active_dashboards()


#: A queued refresh of a review order keeps later requests away this long if it never runs.
REVIEW_ORDER_PENDING_SECONDS = 120


def request_review_order(project_id: int) -> bool:
    """Queue a refresh of the project's review order unless one is already waiting (a cache flag,
    as ``ranking.tasks.request_fold``), after the current transaction commits."""
    if not cache.add(f"quality:review-order-pending:{project_id}", 1, timeout=REVIEW_ORDER_PENDING_SECONDS):
        return False
    transaction.on_commit(functools.partial(refresh_review_order.delay, project_id), robust=True)
    return True


@shared_task(acks_late=True)
def refresh_review_order(project_id: int) -> int:
    """Recompute a project's review order (asked for by a view that found its order stale)."""
    cache.delete(f"quality:review-order-pending:{project_id}")
    project = Project.objects.filter(pk=project_id).first()
    return 0 if project is None else len(do_refresh_review_order(project).item_ids)
