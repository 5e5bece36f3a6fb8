"""Ratings and reliability in the admin: read-only (derived data), with a recompute action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from ranking.models import ItemRating, RatingState
from ranking.services import do_recompute_ratings


@admin.register(ItemRating)
class ItemRatingAdmin(admin.ModelAdmin):
    list_display = ["item", "project", "rank", "rank_interval", "score", "score_se", "rating", "rd", "views"]
    list_filter = ["project"]
    list_select_related = ["item__clip", "project"]
    ordering = ["project", "rank"]
    readonly_fields = [f.name for f in ItemRating._meta.fields]

    @admin.display(description="95% rank interval")
    def rank_interval(self, obj: ItemRating) -> str:
        return "" if obj.rank_low is None else f"{obj.rank_low}-{obj.rank_high}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RatingState)
class RatingStateAdmin(admin.ModelAdmin):
    """The per-project reliability summary."""

    list_display = [
        "project",
        "periods",
        "judgements",
        "ssr",
        "split_half_experts",
        "split_half_judgements",
        "flagged_experts",
        "consensus_reached_at",
        "updated_at",
    ]
    readonly_fields = [f.name for f in RatingState._meta.fields if f.name != "experts"] + ["expert_agreement"]
    exclude = ["experts"]
    actions = ["recompute"]

    @admin.display(description="consensus reached")
    def consensus_reached_at(self, obj: RatingState) -> object:
        return obj.project.consensus_reached_at

    @admin.display(description="flagged experts")
    def flagged_experts(self, obj: RatingState) -> int:
        return sum(1 for e in obj.experts if e.get("flagged"))

    @admin.display(description="agreement with the consensus (Kendall tau)")
    def expert_agreement(self, obj: RatingState) -> str:
        rows = sorted(obj.experts, key=lambda e: e["kendall_tau"])
        return format_html_join(
            "\n",
            "<div>expert {}: tau {} over {} pairs, weight {}{}</div>",
            (
                (e["expert_id"], e["kendall_tau"], e["pairs"], e["weight"], " - FLAGGED" if e["flagged"] else "")
                for e in rows
            ),
        )

    @admin.action(description="Recompute ratings from the judgement log")
    def recompute(self, request: HttpRequest, queryset: QuerySet[RatingState]) -> None:
        for state in queryset.select_related("project"):
            periods = do_recompute_ratings(state.project)
            self.message_user(request, f"{state.project}: {periods} rating periods recomputed.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
