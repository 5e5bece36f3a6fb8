"""Clips (one de-identified DICOM series each), ingest jobs, and the items experts see."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from projects.models import Project


class Clip(models.Model):
    """One de-identified series. Its identity is the SHA-256 of its de-identified pixel data.

    Nothing here identifies a patient: only technical attributes are kept (see media_ingest/README).
    """

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    code = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the de-identified pixels.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROCESSING)
    error = models.TextField(blank=True)
    frame_count = models.PositiveIntegerField(default=0)
    frame_rate = models.FloatField(default=0.0, help_text="Frames per second.")
    frame_rate_source = models.CharField(max_length=40, blank=True, help_text="Which attribute gave the rate.")
    rows = models.PositiveIntegerField(default=0)
    columns = models.PositiveIntegerField(default=0)
    pixel_spacing_x_mm = models.FloatField(null=True, blank=True)
    pixel_spacing_y_mm = models.FloatField(null=True, blank=True)
    study_key = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="Keyed hash of the source study's UID (never the UID): clips of one study share it.",
    )
    manufacturer = models.CharField(max_length=120, blank=True)
    manufacturer_model = models.CharField(max_length=120, blank=True)
    modality = models.CharField(max_length=16, blank=True)
    source_transfer_syntax = models.CharField(max_length=64, blank=True)
    source_photometric = models.CharField(max_length=32, blank=True)
    mask_source = models.CharField(
        max_length=20, blank=True, help_text="What decided the kept pixels: regions, regions+sector or sector."
    )
    # Derived files, as storage names relative to the media storage (content-addressed layout).
    storage_prefix = models.CharField(max_length=200, blank=True, help_text="aa/bb/<code>")
    video_name = models.CharField(max_length=255, blank=True)
    poster_name = models.CharField(max_length=255, blank=True)
    frames_manifest_name = models.CharField(max_length=255, blank=True)
    array_name = models.CharField(max_length=255, blank=True)
    lossless_manifest_name = models.CharField(
        max_length=255,
        blank=True,
        help_text="The lossless master (PNG frames), never served; empty for clips ingested before it existed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["processing", "ready", "failed"]), name="clip_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code[:12]


class IngestJob(models.Model):
    """One uploaded file on its way to a clip."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        DUPLICATE = "duplicate", "Duplicate"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="ingest_jobs")
    batch = models.CharField(max_length=64, blank=True, db_index=True, help_text="Groups the files of one upload.")
    source_name = models.CharField(
        max_length=255, help_text="The file's position in its batch. Never its name: names often carry patient names."
    )
    staged_path = models.CharField(
        max_length=500, blank=True, help_text="In the private store; removed after processing."
    )
    source_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    clip = models.ForeignKey(Clip, null=True, blank=True, on_delete=models.SET_NULL, related_name="ingest_jobs")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "status"])]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"


class ProjectItem(models.Model):
    """What experts see in a project: a whole clip, or one frame of it."""

    class Split(models.TextChoices):
        DEVELOPMENT = "01", "Development"
        EXTERNAL_VALIDATION = "02", "External validation"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    clip = models.ForeignKey(Clip, on_delete=models.PROTECT, related_name="project_items")
    frame_index = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the whole clip.")
    split = models.CharField(max_length=2, choices=Split.choices, default=Split.DEVELOPMENT)
    is_active = models.BooleanField(default=True, help_text="Inactive items are never issued.")
    # Maintained in the same transaction as each judgement; rebuildable from the judgement log.
    judgement_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "clip"], condition=models.Q(frame_index__isnull=True), name="item_unique_clip"
            ),
            models.UniqueConstraint(
                fields=["project", "clip", "frame_index"],
                condition=models.Q(frame_index__isnull=False),
                name="item_unique_frame",
            ),
        ]
        indexes = [
            # Issuing reads the least-covered active items in (judgement_count, id) order and stops
            # after a window: this index gives that order, so no request sorts the project.
            models.Index(
                fields=["project", "judgement_count", "id"],
                condition=models.Q(is_active=True),
                name="item_issue_order_idx",
            )
        ]

    def __str__(self) -> str:
        suffix = "" if self.frame_index is None else f"#{self.frame_index}"
        return f"{self.clip}{suffix}"


class DicomPeer(models.Model):
    """A PACS or echo machine allowed to send studies to the DICOM receiver, and the project its
    studies go to. Associations from any other calling AE title (or from another host, when
    ``host`` is set) are refused."""

    ae_title = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[ -\[\]-~]{1,16}$", "1-16 printable ASCII characters, no backslash.")],
        help_text="The calling AE title the device sends with (case-sensitive).",
    )
    host = models.CharField(
        max_length=255, blank=True, help_text="The IP address it connects from; empty: any address."
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="dicom_peers")
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True, help_text="e.g. echo lab 2, Vivid E95.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "DICOM peer"

    def __str__(self) -> str:
        return f"{self.ae_title} -> {self.project}"


class Upload(models.Model):
    """One file arriving in chunks (the tus 1.0 protocol: ``media_ingest/uploads.py``), resumable
    after a dropped connection. Its bytes go to ``private/uploads/<id>.part``; when the last
    chunk arrives it becomes an ingest job of its batch. No name is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="uploads")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    batch = models.CharField(max_length=64, db_index=True)
    position = models.PositiveIntegerField(help_text="Its place in the batch (the job is named by it).")
    length = models.PositiveBigIntegerField()
    offset = models.PositiveBigIntegerField(default=0)
    job = models.ForeignKey(IngestJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # tus concatenation: a large file sent as parts in parallel ("partial", no place in a batch),
    # then joined into one "final" upload that becomes the job(s); a part points at its final.
    partial = models.BooleanField(default=False)
    final = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="parts")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"upload {self.pk} ({self.offset}/{self.length})"
