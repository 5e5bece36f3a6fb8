"""Keeping dashboards ready: computed by a worker (every minute for projects with recent answers)
and cached, so a page view reads one cache entry instead of aggregating a million judgements.
The same refresh assesses each expert (``quality.reliability``) and raises or clears their flag."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from projects.models import Project, ProjectMembership
from quality.reliability import Reliability
from quality.selectors import DASHBOARD_TTL, Dashboard, active_project_ids, compute_dashboard, dashboard_key
from ranking.tasks import request_fold

ASSESSED_FIELDS = ["agreement", "compared", "flagged", "assessed_at"]


def is_flagged(project: Project, agreement: float | None, compared: int) -> bool:
    """Below the project's threshold after at least its minimum of answers (batches for ranking)."""
    return agreement is not None and compared >= project.flag_min_answers and agreement < project.flag_below


def do_assess_experts(project: Project, found: Reliability) -> list[ProjectMembership]:
    """Write each member's agreement and flag from ``found`` (the dashboard's agreement pass).
    Members with no compared answers are unflagged."""
    now = timezone.now()
    memberships = list(ProjectMembership.objects.filter(project=project))
    for membership in memberships:
        agreement, compared = found.get(membership.user_id, (None, 0))
        membership.agreement, membership.compared = agreement, compared
        membership.flagged = is_flagged(project, agreement, compared)
        membership.assessed_at = now
    ProjectMembership.objects.bulk_update(memberships, ASSESSED_FIELDS)
    return memberships


def do_set_standing(project: Project, *, expert_id: int, standing: str, by: AbstractBaseUser) -> ProjectMembership:
    """The admin's decision about an expert: follow the flags, trust, or exclude. A ranking
    project's consensus is refitted with the new weights (a worker job)."""
    if standing not in ProjectMembership.Standing.values:
        raise ValidationError(f"Unknown standing {standing!r}.")
    with transaction.atomic():
        membership = ProjectMembership.objects.select_for_update().get(project=project, user_id=expert_id)
        membership.standing = standing
        membership.save(update_fields=["standing"])
    if project.kind == Project.Kind.RANKING:
        # The fold refits the consensus when the decisions change (ranking.services._items_key).
        transaction.on_commit(lambda: request_fold(project.pk))
    return membership


def do_refresh_dashboard(project: Project) -> Dashboard:
    data = compute_dashboard(project)
    # getattr: a dashboard cached before the field existed has none.
    do_assess_experts(project, getattr(data.agreement, "reliability", {}))
    cache.set(dashboard_key(project), data, DASHBOARD_TTL)
    return data


def do_refresh_active_dashboards() -> int:
    count = 0
    for project in Project.objects.filter(pk__in=active_project_ids()):
        do_refresh_dashboard(project)
        count += 1
    return count
