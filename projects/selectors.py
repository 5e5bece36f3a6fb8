"""Reads: which projects a user may see."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from projects.models import Project

# Experts see a project once it is published; admins (staff) also see drafts.
VISIBLE_TO_EXPERTS = (Project.Status.OPEN, Project.Status.COMPLETED)


def projects_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_staff:
        return Project.objects.exclude(status=Project.Status.ARCHIVED)
    return Project.objects.filter(memberships__user=user, status__in=VISIBLE_TO_EXPERTS).distinct()


def get_project_for(user: AbstractBaseUser | AnonymousUser, slug: str) -> Project:
    """The project, or 404 for anyone who may not see it (never 403: its existence is private)."""
    try:
        return projects_visible_to(user).get(slug=slug)
    except Project.DoesNotExist:
        raise Http404("No such project") from None


def is_member(user: AbstractBaseUser | AnonymousUser, project: Project) -> bool:
    if not user.is_authenticated:
        return False
    return project.memberships.filter(user=user).exists()


def verified_emails(user: AbstractBaseUser) -> list[str]:
    return [e.lower() for e in EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)]
