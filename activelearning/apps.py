from django.apps import AppConfig


class ActivelearningConfig(AppConfig):
    name = "activelearning"
    verbose_name = "Active learning"

    def ready(self) -> None:
        from activelearning.issuing import queued_items
        from activelearning.receivers import on_judgement_recorded
        from annotations.issuing import register_issuer
        from annotations.signals import judgement_recorded

        # Ranking keeps its own issuer; a ranking project's queue grows its rated set instead.
        register_issuer("classification", queued_items)
        register_issuer("keypoints", queued_items)
        judgement_recorded.connect(on_judgement_recorded, dispatch_uid="activelearning.on_judgement_recorded")
