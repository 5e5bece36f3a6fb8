"""Derived ranking state. Everything here can be rebuilt from the judgement log
(``manage.py recompute_ratings``)."""

from __future__ import annotations

from django.db import models

from media_ingest.models import ProjectItem
from projects.models import Project
from ranking.glicko2 import grown_rd


class ItemRating(models.Model):
    """One item's Glicko-2 state, and its place on the consensus scale (see ranking/README.md)."""

    item = models.OneToOneField(ProjectItem, on_delete=models.CASCADE, related_name="rating")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="item_ratings")
    rating = models.FloatField()
    rd = models.FloatField(help_text="RD when last rated; read it through effective_rd (idle growth).")
    volatility = models.FloatField()
    views = models.PositiveIntegerField(default=0, help_text="Orderings that included this item.")
    # Glicko-2 step 6 makes an idle item's RD grow every period; rather than rewrite every row
    # each period, the row keeps the project's period count when it was last rated and readers
    # derive the growth (``effective_rd``).
    rated_period = models.PositiveIntegerField(default=0, help_text="RatingState.periods when last rated.")
    # The consensus fit (weighted Bradley-Terry over the whole log; logit units, higher = nearer
    # the axis start) and the rank it gives, 1 = nearest the axis start, with a 95% interval.
    score = models.FloatField(default=0.0)
    score_se = models.FloatField(default=2.0)
    rank = models.PositiveIntegerField(null=True, blank=True)
    rank_low = models.PositiveIntegerField(null=True, blank=True)
    rank_high = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "views"], name="rating_views_idx"),
            models.Index(fields=["project", "rating"], name="rating_rating_idx"),
            models.Index(fields=["project", "rank"], name="rating_rank_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.rating:.0f} ± {self.rd:.0f}"

    def effective_rd(self, periods: int) -> float:
        """The RD now, ``periods`` being the project's ``RatingState.periods``."""
        return float(grown_rd(self.rd, self.volatility, idle_periods(periods, self.rated_period, self.views)))


def idle_periods(periods: int, rated_period: int, views: int) -> int:
    """Periods an item sat idle since it was last rated; 0 for an item never seen (its RD does
    not grow before its first game, see docs/ranking.md). Works on numpy arrays too."""
    return (views > 0) * (periods - rated_period)


class RatingState(models.Model):
    """Per project: how far the judgement log has been folded into ratings, and how reliable they are."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="rating_state")
    last_judgement_id = models.BigIntegerField(default=0, help_text="Judgements up to this id are rated.")
    periods = models.PositiveIntegerField(default=0)
    period_started_at = models.DateTimeField(null=True, blank=True)
    judgements = models.PositiveIntegerField(default=0, help_text="Judgements folded so far.")
    consensus_judgements = models.PositiveIntegerField(
        default=0,
        help_text="The consensus fit covers the first this many folded judgements (services.consensus_prefix).",
    )
    consensus_items = models.CharField(
        max_length=64, blank=True, default="", help_text="The item set the consensus fit ranked (count:sum:max of ids)."
    )
    ssr = models.FloatField(null=True, blank=True, help_text="Scale separation reliability of the consensus fit.")
    split_half_experts = models.FloatField(null=True, blank=True)
    split_half_judgements = models.FloatField(null=True, blank=True)
    experts = models.JSONField(
        default=list,
        blank=True,
        help_text="Per expert: id, pairs, Kendall tau with the consensus, fit weight, flagged.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.project}: {self.periods} periods"


class ConvergencePoint(models.Model):
    """How settled the ratings were at one consensus refit: the quality dashboard plots these over
    judgements (RD falling, ranks no longer moving)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="convergence")
    judgements = models.PositiveIntegerField(help_text="Judgements the refit covered.")
    periods = models.PositiveIntegerField()
    mean_rd = models.FloatField(help_text="Mean Glicko-2 RD of the items viewed so far.")
    mean_score_se = models.FloatField(help_text="Mean standard error of the consensus scores of the items viewed.")
    ssr = models.FloatField(null=True, blank=True)
    rank_stability = models.FloatField(
        null=True,
        blank=True,
        help_text="Spearman correlation of the consensus scores with the previous refit's, over items both saw.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["project", "judgements"], name="convergence_project_idx")]

    def __str__(self) -> str:
        return f"{self.project} at {self.judgements} judgements"
