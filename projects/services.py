"""Changes to projects and memberships. ``check_*`` validates, ``do_*`` writes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from projects.memberships import do_grant_allow_listed_memberships, do_sync_allow_list
from projects.models import AllowListedEmail, ExpertProfile, Project, ProjectMembership
from projects.tasks import sync_allow_list

__all__ = [
    "do_add_member",
    "do_allow_list_emails",
    "do_create_project",
    "do_grant_allow_listed_memberships",
    "do_sync_allow_list",
]


def do_create_project(**fields: Any) -> Project:
    """Validate every field (schema included) and save; raises ``ValidationError``."""
    project = Project(**fields)
    project.full_clean()
    project.save()
    return project


def do_add_member(
    project: Project, *, user: AbstractBaseUser, role: str = ProjectMembership.Role.EXPERT
) -> ProjectMembership:
    membership, _ = ProjectMembership.objects.get_or_create(project=project, user=user, defaults={"role": role})
    ExpertProfile.objects.get_or_create(user=user)
    return membership


def do_allow_list_emails(project: Project, *, emails: Iterable[str]) -> list[AllowListedEmail]:
    """Allow-list e-mails; users who already signed in with one are added by a worker."""
    entries = []
    for email in {e.strip().lower() for e in emails if e.strip()}:
        entry, _ = AllowListedEmail.objects.get_or_create(project=project, email=email)
        entries.append(entry)
    transaction.on_commit(lambda: sync_allow_list.delay(project.pk))
    return entries
