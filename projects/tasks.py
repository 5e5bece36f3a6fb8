from celery import shared_task

from projects.memberships import do_sync_allow_list


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def sync_allow_list(project_id: int) -> int:
    """Turn allow-listed e-mails of existing users into memberships. Idempotent."""
    return do_sync_allow_list(project_id)
