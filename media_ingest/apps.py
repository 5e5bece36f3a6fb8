from django.apps import AppConfig


class MediaIngestConfig(AppConfig):
    name = "media_ingest"
    verbose_name = "Media ingest"

    def ready(self) -> None:
        from media_ingest import checks  # noqa: F401 - registers the system checks
