from django.apps import AppConfig


class ActivelearningConfig(AppConfig):
    name = "activelearning"
    verbose_name = "Active learning"

    def ready(self) -> None:
        from activelearning.issuing import queued_items
        from annotations.issuing import register_issuer

        # Ranking keeps its own issuer; a ranking project's queue grows its rated set instead.
        register_issuer("classification", queued_items)
        register_issuer("keypoints", queued_items)
