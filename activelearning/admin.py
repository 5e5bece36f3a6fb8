"""Active learning in the admin: each project's settings page shows the serving version, a plot
of validation per version beside the simulation's random-order curve, the queue with its scores
and reasons, and the recent runs with their errors. Versions and runs are read-only."""

from __future__ import annotations

import math

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from activelearning.models import LearningRun, LearningSettings, ModelVersion
from activelearning.reference import RANDOM_CURVES
from activelearning.selectors import LearningError, queue_counts, queue_preview, recent_runs, versions
from activelearning.services import do_grow_ranking_pool, do_request_retrain

PLOT_W, PLOT_H, PAD = 560, 220, 40


def metric_of(version: ModelVersion) -> tuple[str, float] | None:
    for key in ("accuracy", "landmark_error_px", "spearman"):
        if key in version.metrics:
            return key, float(version.metrics[key])
    return None


def plot_points(found: list[ModelVersion]) -> dict | None:
    """Coordinates of the versions' validation figure against their label counts, and of the
    simulation's random-order curve for the same metric, on shared axes (labels on a log scale)."""
    measured = [(v.label_count, m[1], v.number) for v in found if (m := metric_of(v)) and v.label_count > 0]
    if not measured:
        return None
    key = next(metric_of(v)[0] for v in found if metric_of(v))
    name, _, reference = RANDOM_CURVES.get(key, ("", True, []))
    xs = [x for x, *_ in measured] + [x for x, _ in reference]
    ys = [y for _, y, _ in measured] + [y for _, y in reference]
    lo_x, hi_x = math.log(min(xs)), math.log(max(xs))
    lo_y, hi_y = min([*ys, 0.0]), max(ys)
    span_x, span_y = (hi_x - lo_x) or 1.0, (hi_y - lo_y) or 1.0

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            round(PAD + (math.log(x) - lo_x) / span_x * (PLOT_W - 2 * PAD), 1),
            round(PLOT_H - PAD - (y - lo_y) / span_y * (PLOT_H - 2 * PAD), 1),
        )

    points = [(*at(x, y), x, y, n) for x, y, n in measured]
    return {
        "metric": key,
        "width": PLOT_W,
        "height": PLOT_H,
        "versions": points,
        "versions_line": " ".join(f"{px},{py}" for px, py, *_ in points),
        "reference_name": name,
        "reference_line": " ".join("{},{}".format(*at(x, y)) for x, y in reference),
        "x_range": (min(xs), max(xs)),
        "y_range": (round(lo_y, 3), round(hi_y, 3)),
        "axis_y": PLOT_H - PAD,
        "axis_x": PAD,
    }


@admin.register(LearningSettings)
class LearningSettingsAdmin(admin.ModelAdmin):
    list_display = ("project", "enabled", "strategy", "serving_version", "last_run")
    list_filter = ("enabled", "strategy")
    search_fields = ("project__title", "project__slug")
    actions = ["retrain_now", "grow_rated_set"]
    readonly_fields = ("overview",)
    fieldsets = (
        (None, {"fields": ("project", "enabled", "strategy")}),
        ("Retraining", {"fields": ("retrain_every", "retrain_hours", "min_labels", "mc_passes", "diverse_head")}),
        ("Model and queue", {"fields": ("overview",)}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: LearningSettings | None = None) -> tuple[str, ...]:
        return ("project", "overview") if obj else ("overview",)

    @admin.display(description="serving")
    def serving_version(self, obj: LearningSettings) -> str:
        return f"v{obj.serving.number} ({obj.serving.get_kind_display()})" if obj.serving else "-"

    @admin.display(description="last run")
    def last_run(self, obj: LearningSettings) -> str:
        run = LearningRun.objects.filter(project=obj.project).first()
        if run is None:
            return "-"
        return f"{run.get_status_display()}: {run.error[:80]}" if run.error else run.get_status_display()

    @admin.display(description="overview")
    def overview(self, obj: LearningSettings) -> SafeString:
        if obj is None or obj.pk is None:
            return SafeString("Saved settings show the model and its queue here.")
        found = versions(obj.project)
        serving = obj.serving
        return SafeString(
            render_to_string(
                "activelearning/overview.html",
                {
                    "learning": obj,
                    "serving": serving,
                    "versions": found,
                    "plot": plot_points(found),
                    "queue": queue_preview(serving) if serving else [],
                    "counts": queue_counts(serving) if serving else None,
                    "runs": recent_runs(obj.project),
                },
            )
        )

    @admin.action(description="Retrain now")
    def retrain_now(self, request: HttpRequest, queryset: QuerySet[LearningSettings]) -> None:
        for learning in queryset.select_related("project"):
            with transaction.atomic():
                do_request_retrain(learning.project, LearningRun.Trigger.ADMIN)
        self.message_user(request, f"Queued {queryset.count()} retrain(s) on the learning queue.", messages.SUCCESS)

    @admin.action(description="Ranking: add the next 50 clips of the queue to the rated set")
    def grow_rated_set(self, request: HttpRequest, queryset: QuerySet[LearningSettings]) -> None:
        for learning in queryset.select_related("project"):
            try:
                added = do_grow_ranking_pool(learning.project, 50)
            except LearningError as exc:
                self.message_user(request, f"{learning.project}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{learning.project}: {added} clip(s) added.", messages.SUCCESS)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(_ReadOnly):
    list_display = (
        "project",
        "number",
        "kind",
        "strategy",
        "label_count",
        "metrics",
        "queue_size",
        "train_seconds",
        "created_at",
    )
    list_filter = ("kind",)
    exclude = ("weights", "labels")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        return super().get_queryset(request).defer("weights", "labels").select_related("project")


@admin.register(LearningRun)
class LearningRunAdmin(_ReadOnly):
    list_display = ("project", "trigger", "status", "error", "version", "created_at", "finished_at")
    list_filter = ("status", "trigger")
