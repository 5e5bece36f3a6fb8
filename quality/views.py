"""The quality dashboard of a project: staff only (404 for anyone else, as for any project page)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from projects.models import ProjectMembership
from projects.selectors import get_project_for
from quality.selectors import cached_dashboard
from quality.services import do_refresh_dashboard, do_set_standing

CHART_WIDTH, CHART_HEIGHT = 640, 160
MAX_BAR_WIDTH = 24


def _bars(values: list[tuple[str, float]], *, width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> dict:
    """Geometry of a server-rendered SVG bar chart (the template draws it)."""
    top = max((v for _, v in values), default=0) or 1
    step = width / max(len(values), 1)
    return {
        "width": width,
        "height": height,
        "top": top,
        "bars": [
            {
                "x": round(k * step + 1, 2),
                "w": round(min(max(step - 2, 1), MAX_BAR_WIDTH), 2),  # a few days do not fill the chart
                "h": round(height * v / top, 2),
                "y": round(height - height * v / top, 2),
                "label": label,
                "value": v,
            }
            for k, (label, v) in enumerate(values)
        ],
    }


LINE_COLOURS = ("#0b5cad", "#c2410c", "#15803d")


def _lines(
    xs: list[float], series: dict[str, list[float | None]], *, x_label: str, width: int = CHART_WIDTH, height: int = 140
) -> dict:
    """Geometry of a server-rendered SVG line chart, each series scaled to its own range (the
    caption gives each range); points without a value are left out of their line."""
    if not xs:
        return {"width": width, "height": height, "lines": []}
    x0, x1 = min(xs), max(xs)
    lines = []
    for (name, ys), colour in zip(series.items(), LINE_COLOURS, strict=False):
        known = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        if not known:
            continue
        low, high = min(y for _, y in known), max(y for _, y in known)
        points = " ".join(
            f"{(x - x0) / ((x1 - x0) or 1) * width:.1f},{height - 4 - (y - low) / ((high - low) or 1) * (height - 8):.1f}"
            for x, y in known
        )
        lines.append({"name": name, "colour": colour, "points": points, "low": low, "high": high})
    return {"width": width, "height": height, "lines": lines, "x_label": x_label, "x_low": x0, "x_high": x1}


def _reliability_rows(project) -> list[dict]:
    """Each member's assessment (written by the worker) and the admin's standing, read live."""
    rows = (
        ProjectMembership.objects.filter(project=project)
        .select_related("user")
        .order_by(F("agreement").asc(nulls_last=True), "user__email", "user_id")
    )
    found = []
    for m in rows:
        m.project = project  # the properties read the project's settings: no query per row
        found.append(
            {
                "expert_id": m.user_id,
                "name": m.user.email or m.user.username,
                "agreement": m.agreement,
                "compared": m.compared,
                "flagged": m.flagged,
                "standing": m.standing,
                "stopped": m.issuing_stopped,
                "counts": m.counts_in_consensus,
            }
        )
    return found


@require_safe
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    project = get_project_for(request.user, slug)
    if not request.user.is_staff:
        raise Http404("No such project")
    # Kept ready by the worker for projects with recent answers; computed here the first time.
    data = cached_dashboard(project) or do_refresh_dashboard(project)
    done, people = data.progress, data.experts
    context = {
        "project": project,
        "computed_at": data.computed_at,
        "progress": done,
        "experts": people,
        "agreement": data.agreement,
        "gold": data.gold,
        "days_chart": _bars([(d.isoformat(), n) for d, n in done.days[-60:]]),
        "experts_chart": _bars([(e.name, e.answers) for e in people[:30]], height=120),
        "reliability": _reliability_rows(project),
        "convergence_chart": _convergence_chart(data.agreement.convergence),
        "standings": ProjectMembership.Standing.choices,
    }
    return render(request, "quality/dashboard.html", context)


def _convergence_chart(points: list[tuple]) -> dict | None:
    if not points:
        return None
    return _lines(
        [p[0] for p in points],
        {"mean RD": [p[1] for p in points], "rank stability": [p[2] for p in points], "SSR": [p[3] for p in points]},
        x_label="judgements",
    )


@require_POST
def set_standing(request: HttpRequest, slug: str, expert_id: int) -> HttpResponse:
    """The admin's decision about one expert (staff only), from the dashboard's reliability table."""
    project = get_project_for(request.user, slug)
    if not request.user.is_staff:
        raise Http404("No such project")
    try:
        do_set_standing(project, expert_id=expert_id, standing=request.POST.get("standing", ""), by=request.user)
    except ProjectMembership.DoesNotExist:
        raise Http404("No such expert in this project") from None
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages))
    return redirect(reverse("quality_dashboard", args=[project.slug]) + "#reliability-h")
