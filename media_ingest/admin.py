"""Admin: ingest jobs with their errors, clips with a poster preview, and an upload form."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from media_ingest import layout
from media_ingest.models import Clip, DicomPeer, IngestJob
from media_ingest.processing import private_root
from media_ingest.services import do_create_ingest_jobs, do_retry_ingest_jobs
from media_ingest.staging import uploads_as_paths
from projects.models import Project


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: object, initial: object = None) -> list[object]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.exclude(status=Project.Status.ARCHIVED))
    files = MultipleFileField(help_text="DICOM files or zip archives.")

    def clean_files(self) -> list[object]:
        files = self.cleaned_data["files"]
        if sum(f.size for f in files) > settings.UNITY_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"At most {settings.UNITY_MAX_UPLOAD_BYTES} bytes per upload.")
        return files


def _shown_name(local: str, names: list[str]) -> str:
    """``0003.upload`` (or ``0003.upload:inner/x.dcm`` inside a zip) -> the uploaded file's name."""
    head, _, rest = local.partition(":")
    stem = head.split(".", 1)[0]
    if stem.isdigit() and int(stem) < len(names):
        return names[int(stem)] + (f" : {rest}" if rest else "")
    return local


def uploader_config(projects: QuerySet[Project]) -> dict[str, object]:
    """What the resumable upload page (static/unity/uploader.js) needs to know."""
    return {
        "projects": [{"slug": p.slug, "name": p.title} for p in projects.order_by("title")],
        "endpoint": reverse("tus_create", args=["x"]).removesuffix("x/"),
        "jobsApi": reverse("api_ingest_jobs", args=["__slug__"]),
        "chunkBytes": settings.UNITY_UPLOAD_CHUNK_BYTES,
        "parallel": settings.UNITY_UPLOAD_PARALLEL,
        # Files of four chunks or more go as parallel parts (tus concatenation).
        "splitFromBytes": 4 * settings.UNITY_UPLOAD_CHUNK_BYTES,
        # Then every minute: a laptop closed for an hour resumes by itself when opened.
        "retryDelays": [0, 1000, 3000, 5000, 10000, 20000, *([60000] * 60)],
        "stalledRetryMs": 30000,
        "pollMs": 2000,
    }


@admin.register(IngestJob)
class IngestJobAdmin(admin.ModelAdmin):
    list_display = ["source_name", "project", "status", "short_error", "clip_link", "attempts", "created_at"]
    list_filter = ["status", "project"]
    search_fields = ["source_name", "batch", "clip__code"]
    list_select_related = ["project", "clip"]
    readonly_fields = [f.name for f in IngestJob._meta.fields]
    actions = ["retry_jobs"]
    change_list_template = "admin/media_ingest/ingestjob/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="error")
    def short_error(self, job: IngestJob) -> str:
        return job.error if len(job.error) <= 120 else job.error[:117] + "..."

    @admin.display(description="clip")
    def clip_link(self, job: IngestJob) -> str:
        if job.clip is None:
            return "-"
        url = reverse("admin:media_ingest_clip_change", args=[job.clip.pk])
        return format_html('<a href="{}">{}</a>', url, job.clip.code[:12])

    @admin.action(description="Retry selected failed jobs (when their staged file remains)", permissions=["change"])
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[IngestJob]) -> None:
        count = do_retry_ingest_jobs(queryset)
        self.message_user(request, f"{count} job(s) queued again.")

    def get_urls(self) -> list[object]:
        upload = path("upload/", self.admin_site.admin_view(self.upload_view), name="media_ingest_ingestjob_upload")
        return [upload, *super().get_urls()]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("media_ingest.view_ingestjob") or not request.user.is_staff:
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            uploads = form.cleaned_data["files"]
            with uploads_as_paths(uploads, folder=private_root() / "incoming") as paths:
                jobs = do_create_ingest_jobs(form.cleaned_data["project"], paths=paths, created_by=request.user)
            batch = jobs[0].batch if jobs else ""
            messages.success(request, f"{len(jobs)} file(s) received; jobs are running (batch {batch}).")
            # Each file's own name, only in this response (names can carry patient names: the
            # database keeps positions). Staged under "<index>.upload": map back to the upload.
            names = [upload.name or f"file {n + 1}" for n, upload in enumerate(uploads)]
            rows = [(job.source_name, _shown_name(job.local_name, names), job) for job in jobs]
            context = {
                **self.admin_site.each_context(request),
                "title": "Upload received",
                "opts": self.model._meta,
                "rows": rows,
                "batch": batch,
                "failed": sum(job.status == IngestJob.Status.FAILED for job in jobs),
                "jobs_url": reverse("admin:media_ingest_ingestjob_changelist") + f"?q={batch}",
            }
            return TemplateResponse(request, "admin/media_ingest/upload_result.html", context)
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "form_max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
            "title": "Upload DICOM",
            "opts": self.model._meta,
            "jobs_url": reverse("admin:media_ingest_ingestjob_changelist"),
            "uploader_config": uploader_config(form.fields["project"].queryset),
        }
        return TemplateResponse(request, "admin/media_ingest/upload.html", context)


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = [
        "short_code",
        "status",
        "frame_count",
        "frame_rate",
        "size",
        "pixel_spacing_x_mm",
        "mask_source",
        "created_at",
    ]
    list_filter = ["status", "mask_source", "source_transfer_syntax"]
    search_fields = ["code"]
    readonly_fields = ["poster", *(f.name for f in Clip._meta.fields)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Clip | None = None) -> bool:
        return False  # items and judgements refer to clips; the files are content-addressed

    @admin.display(description="code")
    def short_code(self, clip: Clip) -> str:
        return clip.code[:12]

    @admin.display(description="size")
    def size(self, clip: Clip) -> str:
        return f"{clip.columns}x{clip.rows}"

    @admin.display(description="poster")
    def poster(self, clip: Clip) -> str:
        if clip.status != Clip.Status.READY:
            return "-"
        poster = reverse("clip_file", args=[clip.code, layout.POSTER])
        video = reverse("clip_file", args=[clip.code, layout.VIDEO])
        return format_html(
            '<video src="{}" poster="{}" controls loop muted style="max-width:480px"></video>', video, poster
        )


@admin.register(DicomPeer)
class DicomPeerAdmin(admin.ModelAdmin):
    """Who may send studies to the DICOM receiver (``manage.py dicom_receiver``), into which project."""

    list_display = ("ae_title", "host", "project", "enabled", "description", "created_at")
    list_filter = ("enabled", "project")
    search_fields = ("ae_title", "host", "description")
