"""The expert's pages: home (projects, progress, leaderboards, contribution record), the
labelling screen, and the installable-app files (web manifest, service worker).

Views authenticate and shape output; the labelling itself goes through the JSON API (annotations.api).
"""

from __future__ import annotations

import csv
import json
from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from annotations.selectors import contribution_rows, project_progress
from annotations.services import MAX_TIME_ON_TASK_MS
from projects.selectors import get_project_for, projects_visible_to

# Static assets the service worker precaches so the app opens quickly and offline-tolerant.
# Media and API answers are never cached (see static/unity/sw.js).
APP_ASSETS = (
    "unity/unity.css",
    "unity/label.js",
    "unity/api.js",
    "unity/player.js",
    "unity/modes/ranking.js",
    "unity/modes/classification.js",
    "unity/modes/keypoints.js",
    "unity/modes/temporal.js",
    "unity/register-sw.js",
    "unity/icons/icon-192.png",
    "unity/icons/icon-512.png",
)

TIME_ON_TASK_NOTE = (
    "Time on task is measured, not estimated: the time the labelling screen showed each task while "
    "its tab was visible, as your browser counted it, but never more than the time from the task "
    f"being issued to your answer reaching the server, and at most {MAX_TIME_ON_TASK_MS // 3_600_000} "
    "hours per answer."
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    projects = projects_visible_to(request.user).order_by("status", "title")
    contributions = contribution_rows(request.user)
    return render(
        request,
        "annotations/home.html",
        {
            "projects": projects,
            "progress": project_progress(list(projects), request.user),
            "contributions": contributions,
            "total_judgements": sum(int(r["judgements"]) for r in contributions),
            "total_minutes": round(sum(float(r["minutes"]) for r in contributions), 1),
            "time_on_task_note": TIME_ON_TASK_NOTE,
        },
    )


@login_required
def contributions_csv(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="unity-contributions-{user.pk}-{today:%Y%m%d}.csv"'
    response["Cache-Control"] = "private, no-store"
    writer = csv.writer(response)
    writer.writerow(
        [
            "expert",
            "email",
            "month",
            "project",
            "project_title",
            "judgements",
            "not_sure",
            "minutes",
            "minutes_measured",
        ]
    )
    name = user.get_full_name() or user.get_username()
    for row in contribution_rows(user):
        month = row["month"]
        writer.writerow(
            [
                _csv_safe(name),
                _csv_safe(user.email),
                month.strftime("%Y-%m") if isinstance(month, date) else month,
                row["project_slug"],
                _csv_safe(str(row["project_title"])),
                row["judgements"],
                row["not_sure"],
                row["minutes"],
                TIME_ON_TASK_NOTE,
            ]
        )
    return response


def _csv_safe(value: str) -> str:
    """Keep spreadsheet programs from reading a cell as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@login_required
def label(request: HttpRequest, slug: str) -> HttpResponse:
    """The labelling screen. 404 for anyone who may not see the project."""
    project = get_project_for(request.user, slug)
    config = {
        "slug": project.slug,
        "title": project.title,
        "kind": project.kind,
        "question": project.question,
        "is_open": project.is_open,
        "schema": project.label_schema,
        "axis": [project.axis_start_label, project.axis_end_label],
        "renew_seconds": max(30, project.task_timeout_minutes * 60 // 3),
        "urls": {
            "next": reverse("api_next_task", kwargs={"slug": project.slug}),
            "judgement": reverse("api_judgement", kwargs={"task_id": "00000000-0000-0000-0000-000000000000"}),
            "skip": reverse("api_skip", kwargs={"task_id": "00000000-0000-0000-0000-000000000000"}),
            "renew": reverse("api_renew", kwargs={"task_id": "00000000-0000-0000-0000-000000000000"}),
            "project": project.get_absolute_url(),
            "home": reverse("home"),
            "login": reverse("account_login") + "?next=" + reverse("signed_in"),
        },
    }
    config["csrf"] = get_token(request)
    return render(request, "annotations/label.html", {"project": project, "config": config})


@login_required
def signed_in(request: HttpRequest) -> HttpResponse:
    """Where "sign in again" lands, in its own tab: the expert closes it and carries on."""
    return render(request, "annotations/signed_in.html")


@require_GET
def web_manifest(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "annotations/manifest.webmanifest",
        {"icon_192": static("unity/icons/icon-192.png"), "icon_512": static("unity/icons/icon-512.png")},
        content_type="application/manifest+json",
    )


@require_GET
@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from the site root so its scope covers every page; it only ever caches /static/."""
    response = render(
        request,
        "annotations/sw.js",
        {
            "assets_json": json.dumps([static(name) for name in APP_ASSETS]),
            "static_prefix_json": json.dumps(static("")),
        },
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = "/"
    return response
