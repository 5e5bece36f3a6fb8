"""The quality dashboard of a project: staff only (404 for anyone else, as for any project page)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from projects.selectors import get_project_for
from quality.selectors import cached_dashboard
from quality.services import do_refresh_dashboard

CHART_WIDTH, CHART_HEIGHT = 640, 160


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
                "w": round(max(step - 2, 1), 2),
                "h": round(height * v / top, 2),
                "y": round(height - height * v / top, 2),
                "label": label,
                "value": v,
            }
            for k, (label, v) in enumerate(values)
        ],
    }


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
        "days_chart": _bars([(d.isoformat(), n) for d, n in done.days[-60:]]),
        "experts_chart": _bars([(e.name, e.answers) for e in people[:30]], height=120),
    }
    return render(request, "quality/dashboard.html", context)
