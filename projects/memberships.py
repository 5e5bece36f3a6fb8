"""Granting memberships from allow-lists. Imported by services and tasks alike."""

from __future__ import annotations

import logging

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from projects.models import AllowListedEmail, ExpertProfile, Project, ProjectMembership
from projects.selectors import verified_emails

logger = logging.getLogger(__name__)


def do_sync_allow_list(project_id: int) -> int:
    """Make every user with a verified, allow-listed e-mail a member. Idempotent."""
    project = Project.objects.get(pk=project_id)
    emails = set(project.allow_list.values_list("email", flat=True))
    if not emails:
        return 0
    user_ids = set(EmailAddress.objects.filter(verified=True, email__in=emails).values_list("user_id", flat=True))
    User = get_user_model()
    added = 0
    for user in User.objects.filter(pk__in=user_ids, is_active=True):
        _, created = ProjectMembership.objects.get_or_create(project=project, user=user)
        added += int(created)
    return added


def do_grant_allow_listed_memberships(user: AbstractBaseUser) -> int:
    """At sign-in: join every project whose allow-list holds one of the user's verified e-mails."""
    emails = verified_emails(user)
    if not emails:
        return 0
    added = 0
    for entry in AllowListedEmail.objects.filter(email__in=emails).select_related("project"):
        _, created = ProjectMembership.objects.get_or_create(project=entry.project, user=user)
        added += int(created)
    if added:
        ExpertProfile.objects.get_or_create(user=user)
        logger.info("user %s joined %d project(s) through the allow-list", user.pk, added)
    return added
