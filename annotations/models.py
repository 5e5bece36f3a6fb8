"""Tasks issued to experts and their judgements (an append-only log)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from media_ingest.models import ProjectItem
from projects.models import Project


class Task(models.Model):
    """What was issued to which expert and when: one item, or a batch of items for ranking."""

    class Status(models.TextChoices):
        ISSUED = "issued", "Issued"
        ANSWERED = "answered", "Answered"
        SKIPPED = "skipped", "Skipped"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    expert = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ISSUED)
    items = models.ManyToManyField(ProjectItem, through="TaskItem", related_name="tasks")
    # Sorted item ids joined by "-": lets the issuer avoid giving an expert the same set twice.
    item_set_key = models.CharField(max_length=200, db_index=True)
    skip_reason = models.CharField(max_length=200, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "expert", "status"], name="task_expert_status_idx"),
            models.Index(fields=["status", "expires_at"], name="task_expiry_idx"),
            # The project's tasks in flight, read once per issuing request: only issued tasks
            # enter it, so it holds a few entries per expert (docs/locking.md, "In flight").
            models.Index(
                fields=["project", "expires_at"], condition=models.Q(status="issued"), name="task_in_flight_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} ({self.status})"


class TaskItem(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="task_items")
    item = models.ForeignKey(ProjectItem, on_delete=models.CASCADE, related_name="task_items")
    position = models.PositiveSmallIntegerField(help_text="Order shown to the expert (shuffled).")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["task", "item"], name="task_item_unique"),
            models.UniqueConstraint(fields=["task", "position"], name="task_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}[{self.position}] = {self.item_id}"


class Judgement(models.Model):
    """One expert's answer to one task. Append-only: a correction is a new row (``supersedes``).

    ``answer`` by project kind (validated by annotations.services):
    ranking ``{"ordering": [item ids from the axis start to its end], "ties": [[item ids], ...]}``;
    classification ``{"class": key | "none_of_the_above"}``;
    keypoints ``{"labels": {key: {"state": "placed"|"off"|"blurred", "points": [[x, y], ...]}},
    "frame": n}``; temporal ``{"events": [{"key": "ed", "frame": n, "beat": b}, ...]}``.
    """

    task = models.OneToOneField(Task, on_delete=models.PROTECT, related_name="judgement")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="judgements")
    expert = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="judgements")
    answer = models.JSONField()
    not_sure = models.BooleanField(default=False)
    feedback = models.TextField(blank=True)
    time_on_task_ms = models.PositiveIntegerField(default=0)
    client_info = models.JSONField(default=dict, blank=True, help_text="Browser, viewport, input device.")
    supersedes = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "id"], name="judgement_project_log_idx"),
            models.Index(fields=["expert", "created_at"], name="judgement_expert_time_idx"),
        ]

    def __str__(self) -> str:
        return f"judgement {self.pk} on {self.task_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Judgements are append-only: record a correction as a new judgement.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("Judgements are append-only and cannot be deleted.")


class GoldAnswer(models.Model):
    """An item's known answer, set by an admin: the item is mixed into experts' queues at the
    project's ``gold_rate`` (shown like any other) and each expert's accuracy on it is measured."""

    item = models.OneToOneField(ProjectItem, on_delete=models.CASCADE, related_name="gold")
    answer = models.JSONField(help_text="The answer in the project kind's format (validated like an expert's).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"gold answer for item {self.item_id}"


class Adjudication(models.Model):
    """A reviewer's decision on an item: accept the experts' consensus, or record an answer of
    their own. Kept apart from the experts' judgements (never counted as an expert's answer) and
    noted in releases. Append-only: the latest row per item is the decision."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "Consensus accepted"
        ADJUDICATED = "adjudicated", "Adjudicated answer"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="adjudications")
    item = models.ForeignKey(ProjectItem, on_delete=models.PROTECT, related_name="adjudications")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="adjudications")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    answer = models.JSONField(null=True, blank=True, help_text="The adjudicated answer (empty when accepted).")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["project", "item", "id"], name="adjudication_item_idx")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} on item {self.item_id}"
