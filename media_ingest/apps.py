from django.apps import AppConfig


class MediaIngestConfig(AppConfig):
    name = "media_ingest"
    verbose_name = "Media ingest"

    def ready(self) -> None:
        from media_ingest import checks  # noqa: F401 - registers the system checks
        from media_ingest.training_video import store_training_video
        from projects.admin import TRAINING_VIDEO_STORE

        TRAINING_VIDEO_STORE.append(store_training_video)
