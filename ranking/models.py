"""Derived ranking state. Everything here can be rebuilt from the judgement log
(``manage.py recompute_ratings``)."""

from __future__ import annotations

from django.db import models

from media_ingest.models import ProjectItem
from projects.models import Project


class ItemRating(models.Model):
    item = models.OneToOneField(ProjectItem, on_delete=models.CASCADE, related_name="rating")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="item_ratings")
    rating = models.FloatField()
    rd = models.FloatField()
    volatility = models.FloatField()
    views = models.PositiveIntegerField(default=0, help_text="Orderings that included this item.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "views"], name="rating_views_idx"),
            models.Index(fields=["project", "rating"], name="rating_rating_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.rating:.0f} ± {self.rd:.0f}"


class RatingState(models.Model):
    """Per project: how far the judgement log has been folded into ratings."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="rating_state")
    last_judgement_id = models.BigIntegerField(default=0, help_text="Judgements up to this id are rated.")
    periods = models.PositiveIntegerField(default=0)
    period_started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.project}: {self.periods} periods"
