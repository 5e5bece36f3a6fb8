"""Changes: create (freeze) and withdraw dataset releases; the build is ``processing``'s.

``do_create_release`` freezes a project's next version (its watermarks) and queues the build
after commit; ``do_build_release`` (``processing``, what the task runs) writes the archive.
"""

from __future__ import annotations

import functools

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from datasets.errors import ReleaseError
from datasets.models import Download, LicenceAcceptance, Release
from datasets.processing import do_build_release, release_path
from datasets.selectors import next_version, watermarks
from datasets.tasks import build_release
from projects.models import Project
from projects.selectors import consensus_decisions

__all__ = [
    "ReleaseError",
    "do_accept_licence",
    "do_build_release",
    "do_create_release",
    "do_record_download",
    "do_withdraw_release",
    "release_path",
]


def do_create_release(
    project: Project,
    *,
    title: str,
    created_by: AbstractBaseUser | None = None,
    queue: bool = True,
    **fields: object,
) -> Release:
    """Freeze ``project``'s next version now and queue its build after commit."""
    fractions = fields.get("split_fractions") or [0.8, 0.1, 0.1]
    if (
        not isinstance(fractions, list | tuple)
        or len(fractions) != 3
        or not all(isinstance(f, int | float) and f >= 0 for f in fractions)
        or sum(fractions) <= 0
    ):
        raise ReleaseError("split_fractions: three non-negative numbers (train, validation, test) with a positive sum")
    with transaction.atomic():
        last_item, last_judgement = watermarks(project)
        if not last_item:
            raise ReleaseError(f"project {project.slug} has no items to release")
        try:
            with transaction.atomic():
                release = Release.objects.create(
                    project=project,
                    version=next_version(project),
                    title=title,
                    created_by=created_by,
                    last_item_id=last_item,
                    last_judgement_id=last_judgement,
                    frozen_at=timezone.now().replace(microsecond=0),
                    consensus_decisions=consensus_decisions(project),
                    **fields,
                )
        except IntegrityError:
            raise ReleaseError("another release of this project was created at the same moment; try again") from None
        if queue:
            transaction.on_commit(functools.partial(build_release.delay, release.pk), robust=True)
    return release


def do_accept_licence(
    release: Release, *, user: AbstractBaseUser, full_name: str, institution: str, intended_use: str
) -> LicenceAcceptance:
    """Record that ``user`` accepts ``release``'s licence (once; a second acceptance keeps the first)."""
    fields = {"full_name": full_name.strip(), "institution": institution.strip(), "intended_use": intended_use.strip()}
    missing = [name.replace("_", " ") for name, value in fields.items() if not value]
    if missing:
        raise ReleaseError(f"please give your {', '.join(missing)}")
    if not release.is_available:
        raise ReleaseError("this release is not available")
    acceptance, _ = LicenceAcceptance.objects.get_or_create(
        release=release, user=user, defaults={**fields, "licence": release.licence}
    )
    return acceptance


def do_record_download(release: Release, *, user: AbstractBaseUser, byte_range: str) -> Download:
    return Download.objects.create(release=release, user=user, byte_range=byte_range[:100])


def do_withdraw_release(release: Release, *, reason: str) -> Release:
    """Stop serving a release. The record (and the archive, for the record) stays."""
    if not reason.strip():
        raise ReleaseError("say why the release is withdrawn")
    Release.objects.filter(pk=release.pk).update(
        status=Release.Status.WITHDRAWN, withdrawn_at=timezone.now(), withdrawn_reason=reason.strip()
    )
    release.refresh_from_db()
    return release
