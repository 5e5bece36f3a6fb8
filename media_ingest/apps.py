from django.apps import AppConfig


class MediaIngestConfig(AppConfig):
    name = "media_ingest"
    verbose_name = "Media ingest"
