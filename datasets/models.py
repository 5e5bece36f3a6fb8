"""Dataset releases: frozen, versioned snapshots of a project for researchers (README)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from projects.models import Project


def new_salt() -> str:
    return secrets.token_hex(32)


class Release(models.Model):
    """Version ``version`` of ``project``'s dataset: the items with ids up to ``last_item_id`` and
    the judgements up to ``last_judgement_id``, frozen when the release is created, so a rebuild
    gives the same bytes. ``salt`` keys the release's pseudonyms (experts, studies) and the split;
    it never leaves the database."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Licence(models.TextChoices):
        CC_BY_NC_SA_4 = "CC-BY-NC-SA-4.0", "CC BY-NC-SA 4.0"
        CC_BY_NC_ND_4 = "CC-BY-NC-ND-4.0", "CC BY-NC-ND 4.0"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="releases")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown: what the dataset is and what it is for.")
    collection = models.TextField(blank=True, help_text="Markdown: where and how the studies were collected.")
    citation = models.TextField(blank=True, help_text="How to cite the dataset (free text or BibTeX).")
    licence = models.CharField(max_length=32, choices=Licence.choices, default=Licence.CC_BY_NC_SA_4)
    include_video = models.BooleanField(default=False, help_text="Also ship each clip's MP4.")
    include_frames = models.BooleanField(
        default=True, help_text="Ship the PNG frames; off: labels and metadata only (for a dataset already downloaded)."
    )
    split_fractions = models.JSONField(
        default=list,
        blank=True,
        help_text="[train, validation, test] of the development clips; empty: [0.8, 0.1, 0.1].",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    last_item_id = models.BigIntegerField(default=0)
    last_judgement_id = models.BigIntegerField(default=0)
    frozen_at = models.DateTimeField()
    consensus_decisions = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="Who counted in consensus when the release was frozen (projects.selectors.consensus_decisions).",
    )
    salt = models.CharField(max_length=64, default=new_salt, editable=False)
    archive_name = models.CharField(max_length=255, blank=True, help_text="Under the private root; never served.")
    archive_size = models.BigIntegerField(default=0)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="Counts, splits and agreement of the build.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["project", "-version"]
        constraints = [models.UniqueConstraint(fields=["project", "version"], name="release_project_version")]

    def __str__(self) -> str:
        return f"{self.project.slug} v{self.version}"

    @property
    def name(self) -> str:
        """The archive's root folder and file stem: ``<project slug>-v<version>``."""
        return f"{self.project.slug}-v{self.version}"

    @property
    def fractions(self) -> tuple[float, float, float]:
        values = self.split_fractions or [0.8, 0.1, 0.1]
        return (float(values[0]), float(values[1]), float(values[2]))

    @property
    def is_available(self) -> bool:
        return self.status == self.Status.READY


class LicenceAcceptance(models.Model):
    """A user accepted ``release``'s licence, with what the biobank asks (recorded with the time)."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="acceptances")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="licence_acceptances")
    full_name = models.CharField(max_length=200)
    institution = models.CharField(max_length=200)
    intended_use = models.TextField()
    licence = models.CharField(max_length=32, help_text="The licence accepted (the release's at the time).")
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "user"], name="acceptance_release_user")]

    def __str__(self) -> str:
        return f"{self.user} accepted {self.release}"


class Download(models.Model):
    """Every request for a release's archive (a resumed download is one row per request)."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="downloads")
    byte_range = models.CharField(max_length=100, blank=True, help_text="The Range header, if any.")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.user} downloaded {self.release} at {self.at:%Y-%m-%d %H:%M}"
