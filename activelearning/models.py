"""Active learning tables: a project's settings, its runs, the immutable model versions they
write, and each version's predictions, which are also the priority queue the issuer reads.

A version's predictions are the model as a pseudo-expert: kept in their own table, never a
``Judgement``, so nothing that reads answers (consensus, agreement, releases) can count them.
"""

from __future__ import annotations

from django.db import models

from media_ingest.models import ProjectItem
from projects.models import Project

STRATEGIES = [
    ("hybrid", "Hybrid: the most uncertain, spread by k-center greedy"),
    ("margin", "Margin (smallest gap between the two top classes)"),
    ("entropy", "Entropy"),
    ("least_confidence", "Least confidence"),
    ("bald", "BALD (MC dropout)"),
    ("variance", "Variance over MC-dropout passes"),
    ("coreset", "Core-set (k-center greedy on embeddings)"),
    ("random", "Random"),
]


class LearningSettings(models.Model):
    """Whether and how a project learns. No row, or ``enabled`` off: the project issues by
    coverage as before."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="learning")
    enabled = models.BooleanField(default=False, help_text="Issue from the model's queue and retrain it.")
    strategy = models.CharField(max_length=24, choices=STRATEGIES, default="hybrid")
    retrain_every = models.PositiveIntegerField(
        default=50, help_text="Retrain once this many items have gained consensus labels since the serving version."
    )
    retrain_hours = models.PositiveIntegerField(
        default=24, help_text="Also retrain when the serving version is this old and labels changed (0: never)."
    )
    min_labels = models.PositiveIntegerField(
        default=20, help_text="Below this many labelled items the queue is a cold start by diversity (no model)."
    )
    mc_passes = models.PositiveSmallIntegerField(default=20, help_text="MC-dropout passes when scoring the pool.")
    diverse_head = models.PositiveIntegerField(
        default=200,
        help_text="How many queue places the strategy fills with diversity; the rest follow by uncertainty.",
    )
    serving = models.ForeignKey(
        "ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The version whose queue the issuer reads.",
    )

    class Meta:
        verbose_name = "learning settings"
        verbose_name_plural = "learning settings"

    def __str__(self) -> str:
        return f"learning for {self.project}"

    def save(self, *args: object, **kwargs: object) -> None:
        """Also set the project's ``queue_version``: the serving version while learning is on."""
        super().save(*args, **kwargs)
        Project.objects.filter(pk=self.project_id).update(queue_version=self.serving_id if self.enabled else None)


class ModelVersion(models.Model):
    """One trained model, immutable: what it saw, how it scored on held-out studies, its weights.

    ``digest`` covers the kind, the training labels, the strategy and the learner's settings:
    the same labels give the same digest, so a retrain on unchanged labels writes nothing.
    """

    class Kind(models.TextChoices):
        COLD_START = "cold_start", "Cold start (no model: diversity of the pixels)"
        VIEW = "view", "View classifier"
        KEYPOINTS = "keypoints", "Keypoint heatmap regressor"
        QUALITY = "quality", "Quality regressor (ranking)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    digest = models.CharField(max_length=64)
    strategy = models.CharField(max_length=24)
    label_count = models.PositiveIntegerField(help_text="Labelled items it trained and validated on.")
    labels = models.JSONField(help_text="The consensus labels it saw: {item id: label}.")
    metrics = models.JSONField(default=dict, help_text="On the held-out studies; what the split was.")
    settings = models.JSONField(default=dict, help_text="Learner parameters and MC passes.")
    weights = models.BinaryField(null=True, blank=True, editable=False)
    queue_size = models.PositiveIntegerField(default=0)
    train_seconds = models.FloatField(default=0.0)
    score_seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "digest"], name="model_version_unique_digest"),
            models.UniqueConstraint(fields=["project", "number"], name="model_version_unique_number"),
        ]
        ordering = ["project", "-number"]

    def __str__(self) -> str:
        return f"{self.project} v{self.number}"


class LearningRun(models.Model):
    """One attempt at a retrain, whatever came of it: a failure keeps its error here, and the
    previous version goes on serving."""

    class Trigger(models.TextChoices):
        LABELS = "labels", "New labels"
        SCHEDULE = "schedule", "Schedule"
        ADMIN = "admin", "Admin"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "New version"
        UNCHANGED = "unchanged", "Unchanged (same labels)"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="learning_runs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"], name="learning_run_recent_idx")]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"


class Prediction(models.Model):
    """The model's answer for one item (the pseudo-expert) and the item's place in the version's
    queue. ``rank`` is empty for items not in the queue (labels complete, or inactive when scored);
    rank 0 is issued first."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="predictions")
    item = models.ForeignKey(ProjectItem, on_delete=models.CASCADE, related_name="+")
    value = models.JSONField(help_text="Class and probabilities, landmark points, or quality score.")
    uncertainty = models.FloatField(default=0.0)
    diversity = models.FloatField(null=True, blank=True, help_text="Distance to the nearest labelled or earlier pick.")
    rank = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=40, blank=True)
    served_at = models.DateTimeField(null=True, blank=True, help_text="Last issued from this queue.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "item"], name="prediction_unique_item")]
        indexes = [
            # The issuer walks the queue in rank order and stops after a window.
            models.Index(
                fields=["version", "rank"], condition=models.Q(rank__isnull=False), name="prediction_queue_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version}: item {self.item_id}"
