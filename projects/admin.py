import json
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from projects.models import AllowListedEmail, ExpertProfile, Project, ProjectMembership
from projects.schemas import default_schema
from projects.tasks import sync_allow_list
from projects.video import video_url_problem

#: Stores an uploaded training video for a project and returns its storage name; set by
#: media_ingest (which holds the encoder) at start-up. Raises ValueError with a message.
TRAINING_VIDEO_STORE: list[Callable[[Project, object], str]] = []


class ProjectAdminForm(forms.ModelForm):
    training_video_url = forms.URLField(required=False, assume_scheme="https")
    training_video_file = forms.FileField(
        required=False,
        help_text="Or upload the video (MP4, MOV, WebM, AVI...): it is transcoded to H.264 MP4 and served to "
        "members only. Replaces an earlier upload.",
    )

    class Meta:
        model = Project
        fields = "__all__"  # noqa: DJ007 - the admin fieldsets choose what is shown
        widgets = {"label_schema": forms.Textarea(attrs={"rows": 14, "cols": 90, "class": "vLargeTextField"})}

    def clean_training_video_url(self) -> str:
        url = self.cleaned_data.get("training_video_url") or ""
        unchanged = self.instance.pk is not None and url == self.instance.training_video_url
        if url and not unchanged and (problem := video_url_problem(url)):
            raise forms.ValidationError(problem)
        return url

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        examples = {kind: default_schema(kind) for kind in Project.Kind.values}
        self.fields["label_schema"].help_text = "JSON, checked against the project kind. Examples: " + "; ".join(
            f"{kind}: {json.dumps(schema)}" for kind, schema in examples.items()
        )


class MembershipInline(admin.TabularInline):
    model = ProjectMembership
    extra = 1
    autocomplete_fields = ["user"]
    fields = ["user", "role", "standing", "agreement", "compared", "flagged", "assessed_at"]
    readonly_fields = ["agreement", "compared", "flagged", "assessed_at"]


class AllowListInline(admin.TabularInline):
    model = AllowListedEmail
    extra = 1


#: Checks of a project that apps above this one know how to make (annotations registers "no
#: clips ready"); each returns a warning for the admin, or "".
PROJECT_WARNINGS: list[Callable[[Project], str]] = []


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    form = ProjectAdminForm
    list_display = ["title", "slug", "kind", "status", "echo_view", "member_count", "quality_link", "updated_at"]
    list_filter = ["kind", "status", "echo_view"]
    search_fields = ["title", "slug", "echo_view", "question"]
    prepopulated_fields = {"slug": ("title",)}
    inlines = [MembershipInline, AllowListInline]
    readonly_fields = ["consensus_reached_at", "created_at", "updated_at"]

    @admin.display(description="quality")
    def quality_link(self, project: Project) -> str:
        return format_html(
            '<a href="{}">dashboard</a> · <a href="{}">review</a>',
            reverse("quality_dashboard", args=[project.slug]),
            reverse("quality_review", args=[project.slug]),
        )

    fieldsets = [
        (None, {"fields": ["title", "slug", "kind", "status", "echo_view"]}),
        (
            "What experts see",
            {
                "fields": [
                    "question",
                    "guidelines",
                    "training_video_url",
                    "training_video_file",
                    "axis_start_label",
                    "axis_end_label",
                    "label_schema",
                ]
            },
        ),
        (
            "Issuing",
            {
                "fields": [
                    "batch_size",
                    "target_views_per_item",
                    "allow_repeats",
                    "task_timeout_minutes",
                    "leaderboard_size",
                ]
            },
        ),
        (
            "Quality control",
            {"fields": ["flag_below", "flag_min_answers", "stop_issuing_flagged", "weigh_experts", "gold_rate"]},
        ),
        ("Media", {"fields": ["keep_originals", "mask_rectangles"]}),
        (
            "Ranking (Glicko-2)",
            {
                "classes": ["collapse"],
                "fields": [
                    "glicko_tau",
                    "glicko_initial_rating",
                    "glicko_initial_rd",
                    "glicko_initial_volatility",
                    "rating_period_judgements",
                    "rating_period_minutes",
                    "consensus_min_ssr",
                    "consensus_reached_at",
                ],
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        return super().get_queryset(request).annotate(member_total=Count("memberships", distinct=True))

    def save_model(self, request: HttpRequest, obj: Project, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        upload = form.cleaned_data.get("training_video_file")
        if upload and TRAINING_VIDEO_STORE:
            try:
                obj.training_video_name = TRAINING_VIDEO_STORE[0](obj, upload)
            except ValueError as exc:
                messages.error(request, f"The training video was not saved: {exc}")
            else:
                obj.save(update_fields=["training_video_name"])
                messages.success(request, "Training video transcoded and saved.")

    def render_change_form(  # noqa: PLR0917 - Django's signature
        self,
        request: HttpRequest,
        context: dict,
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Project | None = None,
    ):
        # The project the admin already loaded; on a GET only (after a save, the list shows).
        if request.method == "GET" and obj is not None and obj.status == Project.Status.OPEN:
            for check in PROJECT_WARNINGS:
                if warning := check(obj):
                    messages.warning(request, f"Experts cannot get tasks yet: {warning}")
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="members", ordering="member_total")
    def member_count(self, project: Project) -> int:
        return project.member_total

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is AllowListedEmail:
            # Users who already signed in with an allow-listed e-mail join now, through a worker.
            project_id = form.instance.pk
            transaction.on_commit(lambda: sync_allow_list.delay(project_id), robust=True)


@admin.register(ExpertProfile)
class ExpertProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "profession", "institution", "accreditation"]
    list_filter = ["profession"]
    search_fields = ["user__email", "user__username", "institution"]
    autocomplete_fields = ["user"]
