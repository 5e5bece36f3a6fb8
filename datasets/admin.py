"""Admin: publish a release (preview of counts, then build), its progress and manifest, withdraw."""

from __future__ import annotations

import json
import zipfile

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from datasets.archive import MANIFEST
from datasets.models import Download, LicenceAcceptance, Release
from datasets.selectors import next_version, release_preview
from datasets.services import ReleaseError, do_create_release, do_withdraw_release, release_path
from datasets.tasks import build_release
from projects.models import Project

MANIFEST_LINES_SHOWN = 200


class PublishForm(forms.ModelForm):
    project = forms.ModelChoiceField(queryset=Project.objects.exclude(status=Project.Status.ARCHIVED))

    class Meta:
        model = Release
        fields = [
            "project",
            "title",
            "description",
            "collection",
            "citation",
            "licence",
            "include_frames",
            "include_video",
        ]


class WithdrawForm(ActionForm):
    reason = forms.CharField(required=False, help_text="Why (kept with the record).")


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["__str__", "title", "status", "progress", "size", "licence", "created_at", "finished_at"]
    list_filter = ["status", "project"]
    search_fields = ["title", "project__slug"]
    list_select_related = ["project"]
    actions = ["rebuild", "withdraw"]
    action_form = WithdrawForm
    change_list_template = "admin/datasets/release/change_list.html"
    readonly_fields = [
        "project",
        "version",
        "status",
        "progress",
        "error",
        "last_item_id",
        "last_judgement_id",
        "frozen_at",
        "archive_name",
        "archive_size",
        "archive_sha256",
        "summary_view",
        "manifest_view",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "withdrawn_at",
        "withdrawn_reason",
    ]
    fields = ["title", "description", "collection", "citation", "licence", *readonly_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # releases are published through the preview page

    def has_delete_permission(self, request: HttpRequest, obj: Release | None = None) -> bool:
        return False  # withdraw instead: the record of what was released stays

    @admin.display(description="progress")
    def progress(self, release: Release) -> str:
        if release.status == Release.Status.READY:
            return "done"
        if not release.progress_total:
            return "-"
        return f"{100 * release.progress_done // release.progress_total}% ({release.progress_done}/{release.progress_total})"

    @admin.display(description="size")
    def size(self, release: Release) -> str:
        return f"{release.archive_size / 1e6:.1f} MB" if release.archive_size else "-"

    @admin.display(description="summary")
    def summary_view(self, release: Release) -> str:
        return format_html("<pre>{}</pre>", json.dumps(release.summary, indent=2))

    @admin.display(description="manifest (SHA-256 of every file)")
    def manifest_view(self, release: Release) -> str:
        if release.status not in (Release.Status.READY, Release.Status.WITHDRAWN) or not release.archive_name:
            return "-"
        try:
            with zipfile.ZipFile(release_path(release)) as archive:
                lines = archive.read(f"{release.name}/{MANIFEST}").decode().splitlines()
        except (OSError, KeyError, zipfile.BadZipFile):
            return "the archive cannot be read"
        shown = "\n".join(lines[:MANIFEST_LINES_SHOWN])
        more = f"\n... and {len(lines) - MANIFEST_LINES_SHOWN} more" if len(lines) > MANIFEST_LINES_SHOWN else ""
        return format_html("<pre>{}{}</pre>", shown, more)

    @admin.action(description="Build the selected releases again (same bytes)", permissions=["change"])
    def rebuild(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        count = 0
        for release in queryset.exclude(status=Release.Status.WITHDRAWN):
            build_release.delay(release.pk)
            count += 1
        self.message_user(request, f"{count} release(s) queued for a rebuild.")

    @admin.action(description="Withdraw the selected releases (give a reason)", permissions=["change"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        reason = request.POST.get("reason", "")
        try:
            for release in queryset:
                do_withdraw_release(release, reason=reason)
        except ReleaseError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return
        self.message_user(request, f"{queryset.count()} release(s) withdrawn.")

    def get_urls(self) -> list[object]:
        publish = path("publish/", self.admin_site.admin_view(self.publish_view), name="datasets_release_publish")
        return [publish, *super().get_urls()]

    def publish_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("datasets.change_release"):
            raise PermissionDenied
        form = PublishForm(request.POST or None)
        preview = version = None
        if request.method == "POST" and form.is_valid():
            project = form.cleaned_data["project"]
            preview, version = release_preview(project), next_version(project)
            if request.POST.get("confirmed"):
                fields = {k: v for k, v in form.cleaned_data.items() if k not in {"project", "title"}}
                try:
                    release = do_create_release(
                        project, title=form.cleaned_data["title"], created_by=request.user, **fields
                    )
                except ReleaseError as exc:
                    messages.error(request, str(exc))
                else:
                    messages.success(request, f"{release} is frozen and building.")
                    return HttpResponseRedirect(reverse("admin:datasets_release_change", args=[release.pk]))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "preview": preview,
            "version": version,
            "title": "Publish a dataset release",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/datasets/publish.html", context)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LicenceAcceptance)
class LicenceAcceptanceAdmin(_ReadOnly):
    list_display = ["release", "user", "full_name", "institution", "licence", "accepted_at"]
    list_filter = ["release"]
    search_fields = ["full_name", "institution", "user__email"]
    list_select_related = ["release__project", "user"]


@admin.register(Download)
class DownloadAdmin(_ReadOnly):
    list_display = ["release", "user", "byte_range", "at"]
    list_filter = ["release"]
    search_fields = ["user__email"]
    list_select_related = ["release__project", "user"]
