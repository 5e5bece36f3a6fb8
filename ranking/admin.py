"""Ratings and reliability in the admin: read-only (derived data), with a recompute action."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from projects.models import Project
from ranking.models import ItemRating, RatingState
from ranking.selectors import Provisional, provisional_ratings
from ranking.services import do_recompute_ratings


class _ProvisionalByProject:
    """Provisional ratings of the projects on one changelist page, computed once per request."""

    def __init__(self) -> None:
        self._of: dict[int, tuple[Provisional, dict[int, tuple[float, float, float, int]]]] = {}
        self._periods: dict[int, int] = {}

    def __call__(self, project: Project) -> tuple[Provisional, dict[int, tuple[float, float, float, int]]]:
        if project.pk not in self._of:
            provisional = provisional_ratings(project)
            self._of[project.pk] = (provisional, provisional.of())
        return self._of[project.pk]

    def stored_periods(self, project: Project) -> int:
        if project.pk not in self._periods:
            state = RatingState.objects.filter(project=project).values_list("periods", flat=True).first()
            self._periods[project.pk] = state or 0
        return self._periods[project.pk]


def _provisional_columns(lookup: _ProvisionalByProject) -> list[Callable[[ItemRating], str]]:
    """Columns beside the stored values: the RD read now, and the rating, RD and views a fold
    would store if the open period closed now (the same for an item the open period did not show,
    except its RD, read at the period count the fold would reach)."""

    @admin.display(description="RD now")
    def rd_now(obj: ItemRating) -> str:
        periods = lookup.stored_periods(obj.project)
        return f"{obj.effective_rd(periods):.1f}"

    @admin.display(description="provisional rating ± RD (views)")
    def provisional(obj: ItemRating) -> str:
        state, of = lookup(obj.project)
        if obj.item_id in of:
            rating, rd, _, views = of[obj.item_id]
        else:
            rating, rd, views = obj.rating, obj.effective_rd(state.periods), obj.views
        return f"{rating:.1f} ± {rd:.1f} ({views})"

    return [rd_now, provisional]


@admin.register(ItemRating)
class ItemRatingAdmin(admin.ModelAdmin):
    list_display = ["item", "project", "rank", "rank_interval", "score", "score_se", "rating", "rd", "views"]
    # ``rd`` is the stored RD (when last rated); "RD now" adds the idle growth since.
    list_filter = ["project"]
    list_select_related = ["item__clip", "project"]
    ordering = ["project", "rank"]
    readonly_fields = [f.name for f in ItemRating._meta.fields]

    def get_list_display(self, request: HttpRequest) -> list:
        # Stored values, then the values read now and the provisional ones (the open period).
        return [*self.list_display, *_provisional_columns(_ProvisionalByProject())]

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
