import json

from django import forms
from django.contrib import admin

from projects.models import AllowListedEmail, ExpertProfile, Project, ProjectMembership
from projects.schemas import default_schema


class ProjectAdminForm(forms.ModelForm):
    training_video_url = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Project
        fields = "__all__"  # noqa: DJ007 - the admin fieldsets choose what is shown
        widgets = {"label_schema": forms.Textarea(attrs={"rows": 14, "cols": 90, "class": "vLargeTextField"})}

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


class AllowListInline(admin.TabularInline):
    model = AllowListedEmail
    extra = 1


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    form = ProjectAdminForm
    list_display = ["title", "slug", "kind", "status", "echo_view", "member_count", "updated_at"]
    list_filter = ["kind", "status", "echo_view"]
    search_fields = ["title", "slug", "echo_view", "question"]
    prepopulated_fields = {"slug": ("title",)}
    inlines = [MembershipInline, AllowListInline]
    readonly_fields = ["consensus_reached_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "kind", "status", "echo_view"]}),
        (
            "What experts see",
            {
                "fields": [
                    "question",
                    "guidelines",
                    "training_video_url",
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

    @admin.display(description="members")
    def member_count(self, project: Project) -> int:
        return project.memberships.count()


@admin.register(ExpertProfile)
class ExpertProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "profession", "institution", "accreditation"]
    list_filter = ["profession"]
    search_fields = ["user__email", "user__username", "institution"]
    autocomplete_fields = ["user"]
