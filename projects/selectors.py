"""Reads: which projects a user may see."""

from __future__ import annotations

from functools import cache

from allauth.account.models import EmailAddress
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from projects.models import Project, ProjectMembership
from unity.prepared import columns

# Experts see a project once it is published; admins (staff) also see drafts.
VISIBLE_TO_EXPERTS = (Project.Status.OPEN, Project.Status.COMPLETED)


def projects_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_staff:
        return Project.objects.exclude(status=Project.Status.ARCHIVED)
    return Project.objects.filter(memberships__user=user, status__in=VISIBLE_TO_EXPERTS).distinct()


def get_project_for(user: AbstractBaseUser | AnonymousUser, slug: str) -> Project:
    """The project, or 404 for anyone who may not see it (never 403: its existence is private).

    ``projects_visible_to`` as one prepared query: it runs on every request for a next task."""
    if not user.is_authenticated:
        raise Http404("No such project")
    with connection.cursor() as cursor:
        cursor.execute(_visible_project_sql(), [slug, user.is_staff, Project.Status.ARCHIVED, user.pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such project")
    return _PROJECT.load(row)


_PROJECT = columns(Project, "pr")


@cache
def _visible_project_sql() -> str:
    statuses = ", ".join(f"'{status}'" for status in VISIBLE_TO_EXPERTS)
    return f"""
        SELECT {_PROJECT.sql} FROM {Project._meta.db_table} pr
        WHERE pr.slug = %s AND CASE WHEN %s THEN pr.status <> %s ELSE pr.status IN ({statuses})
            AND EXISTS (SELECT 1 FROM {ProjectMembership._meta.db_table} m WHERE m.project_id = pr.id AND m.user_id = %s)
        END"""  # noqa: S608


def is_member(user: AbstractBaseUser | AnonymousUser, project: Project) -> bool:
    if not user.is_authenticated:
        return False
    return project.memberships.filter(user=user).exists()


def verified_emails(user: AbstractBaseUser) -> list[str]:
    return [e.lower() for e in EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)]


def consensus_decisions(project: Project) -> dict:
    """Who counts in the project's consensus, as decided now (a release freezes this):
    ``{"weigh_experts": bool, "standing": {user id (str): "trusted" | "excluded"},
    "left_out": [user ids whose answers stay out of the consensus of single-item kinds]}``.
    See ``ProjectMembership.counts_in_consensus``."""
    standing, left_out = {}, []
    for membership in ProjectMembership.objects.filter(project=project).order_by("user_id"):
        membership.project = project
        if membership.standing != ProjectMembership.Standing.AUTO:
            standing[str(membership.user_id)] = membership.standing
        if not membership.counts_in_consensus:
            left_out.append(membership.user_id)
    return {"weigh_experts": project.weigh_experts, "standing": standing, "left_out": left_out}
