from celery import shared_task

from annotations.services import do_expire_overdue_tasks


@shared_task(acks_late=True)
def expire_overdue_tasks() -> int:
    """Periodic (beat): expire unanswered tasks so their items are issued again. Idempotent."""
    return do_expire_overdue_tasks()
