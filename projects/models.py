"""Projects, the experts who work in them, and who may see what."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from projects.schemas import SchemaErrors, validate_label_schema

MIN_BATCH_SIZE = 2
MAX_BATCH_SIZE = 8


class Project(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        ARCHIVED = "archived", "Archived"

    class Kind(models.TextChoices):
        RANKING = "ranking", "Ranking (compare)"
        CLASSIFICATION = "classification", "Classification"
        KEYPOINTS = "keypoints", "Keypoints and curves"
        TEMPORAL = "temporal", "Temporal (phase timing)"

    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    echo_view = models.CharField(
        max_length=60, blank=True, help_text="The echo view the project is about, e.g. A4C or PLAX."
    )
    question = models.TextField(help_text="What the expert is asked, shown above every task.")
    guidelines = models.TextField(blank=True, help_text="Markdown, shown on the project page.")
    axis_start_label = models.CharField(
        max_length=120, blank=True, help_text='Ranking only: the first end, e.g. "Most accurate view".'
    )
    axis_end_label = models.CharField(
        max_length=120, blank=True, help_text='Ranking only: the other end, e.g. "Most foreshortened".'
    )
    training_video_url = models.URLField(blank=True)
    training_video_name = models.CharField(
        max_length=255,
        blank=True,
        editable=False,
        help_text="An uploaded training video, transcoded to H.264 MP4 in the media storage (shown before the link).",
    )
    label_schema = models.JSONField(
        default=dict, blank=True, help_text="What experts may answer; validated for the project kind."
    )
    batch_size = models.PositiveSmallIntegerField(
        default=6,
        validators=[MinValueValidator(MIN_BATCH_SIZE), MaxValueValidator(MAX_BATCH_SIZE)],
        help_text="Ranking only: clips per batch (2 is plain pairwise).",
    )
    target_views_per_item = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Views (ranking) or answers (other kinds) each item should receive.",
    )
    allow_repeats = models.BooleanField(
        default=False,
        help_text="Show an expert the same item again, to measure intra-expert agreement.",
    )
    leaderboard_size = models.PositiveSmallIntegerField(
        default=10, validators=[MaxValueValidator(100)], help_text="0 hides the leaderboard."
    )
    task_timeout_minutes = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="An issued task not answered within this time expires and its items are reissued.",
    )
    keep_originals = models.BooleanField(
        default=False, help_text="Keep uploaded DICOM originals in the private, never-served store."
    )
    mask_rectangles = models.JSONField(
        default=list,
        blank=True,
        help_text="Extra areas to blank in every frame: [[x, y, width, height], ...] in pixels.",
    )
    # Glicko-2 parameters (ranking projects).
    glicko_tau = models.FloatField(default=0.5, validators=[MinValueValidator(0.05), MaxValueValidator(2.0)])
    glicko_initial_rating = models.FloatField(default=1500.0)
    glicko_initial_rd = models.FloatField(default=350.0, validators=[MinValueValidator(1.0)])
    glicko_initial_volatility = models.FloatField(
        default=0.06, validators=[MinValueValidator(0.0001), MaxValueValidator(1.0)]
    )
    rating_period_judgements = models.PositiveIntegerField(
        default=50, validators=[MinValueValidator(1)], help_text="Close a rating period after this many orderings."
    )
    rating_period_minutes = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1)], help_text="...or after this many minutes."
    )
    consensus_min_ssr = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Scale separation reliability needed before consensus is declared.",
    )
    consensus_reached_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Expert reliability (quality app): who is flagged, and what a flag does.
    flag_below = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=(
            "Flag an expert whose agreement is below this. Classification: share of answers agreeing with the "
            "other experts' majority. Ranking, keypoints, temporal: agreement relative to the typical expert "
            "(1 = as close to consensus as the median expert, 0.5 = twice as far)."
        ),
    )
    flag_min_answers = models.PositiveIntegerField(
        default=20, help_text="Answers (batches for ranking) an expert gives before a flag can be raised."
    )
    stop_issuing_flagged = models.BooleanField(
        default=False, help_text="Give flagged experts no more tasks (they read that nothing is waiting for them)."
    )
    weigh_experts = models.BooleanField(
        default=True,
        help_text=(
            "Consensus weighs experts by their agreement: the ranking fit's weights, and flagged experts left out "
            "of the other kinds' consensus. Off: every expert counts the same (excluded experts never count)."
        ),
    )
    gold_rate = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of tasks that are gold items (items with a known answer), mixed in unannounced.",
    )
    # Kept by activelearning (its settings and each swap of the serving version), read by the
    # issuer with the project row it already has: no extra query when learning is off.
    queue_version = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="The model version whose queue issues this project's items (active learning); empty: least covered.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ProjectMembership", related_name="projects", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(batch_size__gte=MIN_BATCH_SIZE, batch_size__lte=MAX_BATCH_SIZE),
                name="project_batch_size_range",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "open", "completed", "archived"]), name="project_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["ranking", "classification", "keypoints", "temporal"]),
                name="project_kind_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("project_detail", kwargs={"slug": self.slug})

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.kind not in self.Kind.values:
            errors["kind"] = [f"Unknown project kind {self.kind!r}."]
        else:
            try:
                validate_label_schema(self.kind, self.label_schema)
            except SchemaErrors as exc:
                errors["label_schema"] = [f"label_schema.{message}" for message in exc.errors]
        if self.kind == self.Kind.RANKING:
            for field in ("axis_start_label", "axis_end_label"):
                if not getattr(self, field).strip():
                    errors.setdefault(field, []).append("A ranking project names both ends of its axis.")
        if self.pk is not None and self.kind in self.Kind.values:
            stored = type(self).objects.filter(pk=self.pk).values_list("kind", flat=True).first()
            if stored is not None and stored != self.kind and self.judgements.exists():
                errors.setdefault("kind", []).append(
                    f"This project already has answers as a {stored} project: its kind cannot change."
                )
        if not _valid_rectangles(self.mask_rectangles):
            errors["mask_rectangles"] = ["Expected a list of [x, y, width, height] with whole, non-negative numbers."]
        if errors:
            raise ValidationError(errors)


def _valid_rectangles(value: object) -> bool:
    if not isinstance(value, list):
        return False
    for rect in value:
        if not (isinstance(rect, list) and len(rect) == 4):
            return False
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in rect):
            return False
    return True


class ProjectMembership(models.Model):
    class Role(models.TextChoices):
        EXPERT = "expert", "Expert"
        LEAD = "lead", "Lead expert"
        REVIEWER = "reviewer", "Reviewer"

    class Standing(models.TextChoices):
        AUTO = "auto", "Follow the flags"
        TRUSTED = "trusted", "Trusted (never stopped, full weight)"
        EXCLUDED = "excluded", "Excluded (no tasks, not in consensus)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EXPERT)
    # Reliability, written by the quality worker (quality.services.do_assess_experts).
    agreement = models.FloatField(null=True, blank=True, editable=False)
    compared = models.PositiveIntegerField(default=0, editable=False, help_text="Answers the agreement is over.")
    flagged = models.BooleanField(default=False, editable=False)
    assessed_at = models.DateTimeField(null=True, blank=True, editable=False)
    standing = models.CharField(
        max_length=16,
        choices=Standing.choices,
        default=Standing.AUTO,
        help_text="The admin's decision about this expert; 'Follow the flags' applies the project's settings.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project}"

    @property
    def counts_in_consensus(self) -> bool:
        if self.standing == self.Standing.EXCLUDED:
            return False
        return self.standing == self.Standing.TRUSTED or not (self.flagged and self.project.weigh_experts)

    @property
    def issuing_stopped(self) -> bool:
        if self.standing == self.Standing.EXCLUDED:
            return True
        return self.standing == self.Standing.AUTO and self.flagged and self.project.stop_issuing_flagged


class AllowListedEmail(models.Model):
    """An e-mail address that becomes a member of the project at its first verified sign-in."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="allow_list")
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "allow-listed e-mail"
        constraints = [models.UniqueConstraint(fields=["project", "email"], name="allow_list_unique")]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class ExpertProfile(models.Model):
    class Profession(models.TextChoices):
        ECHOCARDIOGRAPHER = "echocardiographer", "Echocardiographer"
        CARDIOLOGIST = "cardiologist", "Cardiologist"
        SONOGRAPHER = "sonographer", "Sonographer"
        OTHER = "other", "Other"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="expert_profile")
    profession = models.CharField(max_length=24, choices=Profession.choices, default=Profession.OTHER)
    institution = models.CharField(max_length=200, blank=True)
    accreditation = models.CharField(max_length=200, blank=True, help_text="e.g. BSE accreditation, EACVI.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_profession_display()})"
