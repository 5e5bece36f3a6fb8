from django.apps import AppConfig


class RankingConfig(AppConfig):
    name = "ranking"
    verbose_name = "Ranking"

    def ready(self) -> None:
        from annotations.issuing import register_issuer
        from annotations.signals import judgement_recorded
        from ranking.receivers import on_judgement_recorded
        from ranking.selectors import next_batch

        register_issuer("ranking", next_batch)
        judgement_recorded.connect(on_judgement_recorded, dispatch_uid="ranking.on_judgement_recorded")
