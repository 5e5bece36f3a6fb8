"""The expert's pages: home (projects, progress, leaderboards, contribution record), the
labelling screen, and the installable-app files (web manifest, service worker).

Views authenticate and shape output; the labelling itself goes through the JSON API (annotations.api).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, IntegerField, Q, Sum
from django.db.models.functions import Least, TruncMonth
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from annotations.models import Judgement
from media_ingest.models import Clip, ProjectItem
from projects.models import Project
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


@dataclass(frozen=True)
class ProjectProgress:
    project: Project
    my_judgements: int
    items: int
    answers_needed: int
    answers_done: int
    leaderboard: list[dict[str, object]]

    @property
    def percent(self) -> int:
        if not self.answers_needed:
            return 0
        return round(100 * self.answers_done / self.answers_needed)


def _display_name(row: dict[str, object]) -> str:
    first = str(row.get("expert__first_name") or "").strip()
    last = str(row.get("expert__last_name") or "").strip()
    if first or last:
        return f"{first} {last[:1]}.".strip() if last else first
    return str(row.get("expert__username"))


def _leaderboard(project: Project, user: AbstractBaseUser) -> list[dict[str, object]]:
    if project.leaderboard_size == 0:
        return []
    rows = (
        Judgement.objects.filter(project=project)
        .values("expert_id", "expert__first_name", "expert__last_name", "expert__username")
        .annotate(judgements=Count("id"))
        .order_by("-judgements", "expert_id")[: project.leaderboard_size]
    )
    return [
        {"rank": rank, "name": _display_name(row), "judgements": row["judgements"], "me": row["expert_id"] == user.pk}
        for rank, row in enumerate(rows, start=1)
    ]


def project_progress(projects: list[Project], user: AbstractBaseUser) -> list[ProjectProgress]:
    ids = [p.pk for p in projects]
    mine = dict(
        Judgement.objects.filter(project_id__in=ids, expert=user)
        .values_list("project_id")
        .annotate(n=Count("id"))
        .values_list("project_id", "n")
    )
    coverage = {
        row["project_id"]: row
        for row in ProjectItem.objects.filter(project_id__in=ids, is_active=True, clip__status=Clip.Status.READY)
        .values("project_id")
        .annotate(
            items=Count("id"),
            done=Sum(Least(F("judgement_count"), F("project__target_views_per_item"), output_field=IntegerField())),
        )
    }
    result = []
    for project in projects:
        row = coverage.get(project.pk, {"items": 0, "done": 0})
        result.append(
            ProjectProgress(
                project=project,
                my_judgements=mine.get(project.pk, 0),
                items=row["items"],
                answers_needed=row["items"] * project.target_views_per_item,
                answers_done=row["done"] or 0,
                leaderboard=_leaderboard(project, user),
            )
        )
    return result


def contribution_rows(user: AbstractBaseUser) -> list[dict[str, object]]:
    """The expert's judgements and time on task per month and project, newest month first."""
    rows = (
        Judgement.objects.filter(expert=user)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "project__slug", "project__title")
        .annotate(judgements=Count("id"), time_ms=Sum("time_on_task_ms"), not_sure=Count("id", filter=Q(not_sure=True)))
        .order_by("-month", "project__title")
    )
    return [
        {
            "month": row["month"].date() if hasattr(row["month"], "date") else row["month"],
            "project_slug": row["project__slug"],
            "project_title": row["project__title"],
            "judgements": row["judgements"],
            "not_sure": row["not_sure"],
            "minutes": round((row["time_ms"] or 0) / 60000, 1),
        }
        for row in rows
    ]


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
    writer.writerow(["expert", "email", "month", "project", "project_title", "judgements", "not_sure", "minutes"])
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
            ]
        )
    return response


def _csv_safe(value: str) -> str:
    """Keep spreadsheet programs from reading a cell as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


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
        "urls": {
            "next": reverse("api_next_task", kwargs={"slug": project.slug}),
            "judgement": reverse("api_judgement", kwargs={"task_id": "00000000-0000-0000-0000-000000000000"}),
            "skip": reverse("api_skip", kwargs={"task_id": "00000000-0000-0000-0000-000000000000"}),
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
