"""The Celery application. Queues: media (ingest), ranking (ratings), learning (models)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")

app = Celery("unity")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (
    Queue("default"),
    Queue("media"),
    Queue("ranking"),
    Queue("learning"),
)
app.autodiscover_tasks()
