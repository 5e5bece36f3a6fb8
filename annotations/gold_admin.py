"""Admin for gold items: gold answers (validated like an expert's answer), and the project items
with the action that marks classification items gold from the experts' current consensus.

Registered from ``annotations/admin.py`` (the module Django's admin discovers). The project-item
admin lives here, not in media_ingest, because its action writes gold answers (annotations).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from annotations.errors import InvalidAnswer
from annotations.gold import check_gold_answer, do_mark_gold_from_consensus
from annotations.models import GoldAnswer
from media_ingest.models import ProjectItem


class GoldAnswerForm(forms.ModelForm):
    class Meta:
        model = GoldAnswer
        fields = ["item", "answer"]
        widgets = {"answer": forms.Textarea(attrs={"rows": 8, "cols": 90, "class": "vLargeTextField"})}
        help_texts = {
            "answer": (
                'JSON, as an expert would answer the item. Classification {"class": "a4c"}; keypoints '
                '{"frame": 0, "labels": {"apex": {"state": "placed", "points": [[120, 80]]}}}; temporal '
                '{"events": [{"key": "ed", "frame": 3, "beat": 1}, {"key": "es", "frame": 14, "beat": 1}]}.'
            )
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        item = cleaned.get("item")
        if item is not None and "answer" in cleaned:
            try:
                cleaned["answer"] = check_gold_answer(item, cleaned["answer"])
            except InvalidAnswer as error:
                self.add_error("answer", error.detail)
        return cleaned


@admin.register(GoldAnswer)
class GoldAnswerAdmin(admin.ModelAdmin):
    form = GoldAnswerForm
    list_display = ["item", "project", "short_answer", "created_by", "created_at"]
    list_filter = ["item__project"]
    list_select_related = ["item__project", "item__clip", "created_by"]
    search_fields = ["item__clip__code", "item__project__slug"]
    raw_id_fields = ["item"]
    readonly_fields = ["created_by", "created_at"]

    @admin.display(description="project", ordering="item__project__title")
    def project(self, gold: GoldAnswer) -> str:
        return str(gold.item.project)

    @admin.display(description="answer")
    def short_answer(self, gold: GoldAnswer) -> str:
        text = str(gold.answer)
        return text if len(text) <= 80 else text[:77] + "..."

    def save_model(self, request: HttpRequest, obj: GoldAnswer, form: forms.ModelForm, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ProjectItem)
class ProjectItemAdmin(admin.ModelAdmin):
    """What experts see in each project. Items are created by ingest and never deleted here
    (tasks and judgements refer to them); an admin may deactivate one or make it a gold item."""

    list_display = ["id", "project", "clip", "frame_index", "split", "is_active", "judgement_count", "is_gold"]
    list_filter = ["project", "is_active", "split"]
    list_select_related = ["project", "clip", "gold"]
    search_fields = ["clip__code"]
    fields = ["project", "clip", "frame_index", "split", "is_active", "judgement_count", "created_at"]
    readonly_fields = ["project", "clip", "frame_index", "split", "judgement_count", "created_at"]
    actions = ["mark_gold_from_consensus"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ProjectItem | None = None) -> bool:
        return False

    def has_gold_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("annotations.add_goldanswer")

    @admin.display(description="gold", boolean=True)
    def is_gold(self, item: ProjectItem) -> bool:
        return hasattr(item, "gold")

    @admin.action(description="Mark as gold from the current consensus (classification)", permissions=["gold"])
    def mark_gold_from_consensus(self, request: HttpRequest, queryset: QuerySet[ProjectItem]) -> None:
        result = do_mark_gold_from_consensus(queryset.select_related("project", "clip"), created_by=request.user)
        self.message_user(
            request,
            f"{result.marked} item(s) marked gold; left alone: {result.already_gold} already gold, "
            f"{result.no_majority} without a clear majority, {result.not_classification} not classification.",
            messages.SUCCESS if result.marked else messages.WARNING,
        )
