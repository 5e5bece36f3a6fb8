from celery import shared_task

from quality.services import do_refresh_active_dashboards


@shared_task(acks_late=True)
def refresh_dashboards() -> int:
    """Periodic (beat, every minute): recompute the dashboards of projects with recent answers."""
    return do_refresh_active_dashboards()
