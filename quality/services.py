"""Keeping dashboards ready: computed by a worker (every minute for projects with recent answers)
and cached, so a page view reads one cache entry instead of aggregating a million judgements."""

from __future__ import annotations

from django.core.cache import cache

from projects.models import Project
from quality.selectors import DASHBOARD_TTL, Dashboard, active_project_ids, compute_dashboard, dashboard_key


def do_refresh_dashboard(project: Project) -> Dashboard:
    data = compute_dashboard(project)
    cache.set(dashboard_key(project), data, DASHBOARD_TTL)
    return data


def do_refresh_active_dashboards() -> int:
    count = 0
    for project in Project.objects.filter(pk__in=active_project_ids()):
        do_refresh_dashboard(project)
        count += 1
    return count
