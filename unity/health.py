"""``/healthz``: is the database, Redis and at least one Celery worker reachable?

Answers 200 with each component's state, or 503 naming what is down. It never raises: a
monitoring probe must get a reason, not a traceback.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from unity.celery import app as celery_app

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 1.5


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down", with its reason
        return False, f"database unreachable: {type(exc).__name__}"
    return True, "ok"


def check_redis() -> tuple[bool, str]:
    if not settings.REDIS_URL:
        return True, "not configured: tasks run in-process"
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
            socket_timeout=CHECK_TIMEOUT_SECONDS,
        )
        client.ping()
    except Exception as exc:  # noqa: BLE001
        return False, f"redis unreachable: {type(exc).__name__}"
    return True, "ok"


def check_workers() -> tuple[bool, str]:
    if not settings.REDIS_URL:
        return True, "in-process (no broker configured)"
    try:
        replies = celery_app.control.ping(timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001
        return False, f"workers unreachable: {type(exc).__name__}"
    if not replies:
        return False, "no Celery worker answered"
    return True, f"{len(replies)} worker(s)"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results = {"database": check_database(), "redis": check_redis()}
    if results["redis"][0]:
        results["workers"] = check_workers()
    else:
        results["workers"] = (False, "skipped: redis is down")
    healthy = all(ok for ok, _ in results.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in results.items()},
    }
    if not healthy:
        logger.warning("healthz unavailable: %s", {k: v[1] for k, v in results.items() if not v[0]})
    return JsonResponse(body, status=200 if healthy else 503)
