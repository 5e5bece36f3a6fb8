"""The ingest API: upload DICOM files or zips into a project, poll jobs, list a project's jobs.

Staff only. Views authenticate, call services and shape output; every refusal is a 4xx with
``{"code", "detail"}``. A project the user cannot see is 404 (its existence is private); a
project they see but may not feed (an expert's) is 403. The access check runs before the request
body is read, so a refused upload stages nothing.
"""

from __future__ import annotations

import django_filters
from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from media_ingest import conf
from media_ingest.models import IngestJob, ProjectItem
from media_ingest.processing import private_root
from media_ingest.selectors import ingest_jobs_page
from media_ingest.serializers import JobListInSerializer, UploadInSerializer, job_payload
from media_ingest.services import do_create_ingest_jobs
from media_ingest.staging import uploads_as_paths
from projects.models import Project
from projects.selectors import get_project_for, projects_visible_to
from unity.rest import IdCursorPagination, refusals


def _error(code: str, detail: object, status: int) -> Response:
    return Response({"code": code, "detail": detail}, status=status)


class _IngestAPIView(APIView):
    def handle_exception(self, exc: Exception) -> Response:
        # Other refusals are shaped {"code", "detail"} by unity.rest.exception_handler.
        if isinstance(exc, Http404):
            return _error("not_found", "No such project or job.", 404)
        return super().handle_exception(exc)

    def staff_project(self, request: Request, slug: str) -> Project:
        project = get_project_for(request.user, slug)
        if not request.user.is_staff:
            raise exceptions.PermissionDenied("Only administrators ingest files or see ingest jobs.")
        return project


class JobSerializer(serializers.Serializer):
    """A job as the API shows it (``serializers.job_payload``): documentation only."""

    id = serializers.IntegerField()
    batch = serializers.CharField()
    source_name = serializers.CharField()
    status = serializers.ChoiceField(choices=IngestJob.Status.choices)
    error = serializers.CharField()
    clip = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


JOBS = inline_serializer("IngestBatch", {"batch": serializers.CharField(), "jobs": JobSerializer(many=True)})
JOB_PAGE = inline_serializer(
    "IngestJobPage", {"jobs": JobSerializer(many=True), "next_before": serializers.IntegerField(allow_null=True)}
)
ONE_JOB = inline_serializer("IngestJobOne", {"job": JobSerializer()})


@extend_schema(tags=["ingest"], request=UploadInSerializer, responses={202: JOBS, **refusals(404)})
class ProjectIngestView(_IngestAPIView):
    parser_classes = [MultiPartParser]

    def post(self, request: Request, slug: str) -> Response:
        project = self.staff_project(request, slug)
        data = UploadInSerializer(data={"files": request.FILES.getlist("files")})
        if not data.is_valid():
            return _error("invalid", data.errors, 400)
        files = data.validated_data["files"]
        limit = conf.INGEST.max_file_bytes
        too_large = [f.name for f in files if f.size > limit]
        if too_large:
            return _error(
                "file_too_large",
                f"{len(too_large)} file(s) larger than {limit} bytes (UNITY_INGEST_MAX_FILE_BYTES); nothing was ingested",
                413,
            )
        with uploads_as_paths(files, folder=private_root() / "incoming") as paths:
            jobs = do_create_ingest_jobs(project, paths=paths, created_by=request.user)
        batch = jobs[0].batch if jobs else ""
        return Response({"batch": batch, "jobs": [job_payload(job) for job in jobs]}, status=202)


@extend_schema(tags=["ingest"], parameters=[JobListInSerializer], responses={200: JOB_PAGE, **refusals(404)})
class ProjectIngestJobsView(_IngestAPIView):
    def get(self, request: Request, slug: str) -> Response:
        project = self.staff_project(request, slug)
        data = JobListInSerializer(data=request.query_params)
        if not data.is_valid():
            return _error("invalid", data.errors, 400)
        query = data.validated_data
        jobs = ingest_jobs_page(
            project,
            batch=query["batch"],
            status=query["status"],
            before=query.get("before"),
            limit=query["limit"],
            ids=query.get("ids"),
        )
        following = jobs[-1].pk if len(jobs) == query["limit"] else None
        return Response({"jobs": [job_payload(job) for job in jobs], "next_before": following})


@extend_schema(tags=["ingest"], responses={200: ONE_JOB, **refusals(404)})
class IngestJobView(_IngestAPIView):
    def get(self, request: Request, job_id: int) -> Response:
        if not request.user.is_staff:
            raise Http404
        visible = projects_visible_to(request.user)  # archived projects' jobs are not shown
        job = IngestJob.objects.select_related("clip").filter(pk=job_id, project__in=visible).first()
        if job is None:
            raise Http404
        return Response({"job": job_payload(job)})


# --- Read API: a project's items ------------------------------------------------------------------


class ItemSerializer(serializers.ModelSerializer):
    clip = serializers.CharField(source="clip.code", help_text="The clip's code (SHA-256 of its de-identified pixels).")
    frame_count = serializers.IntegerField(source="clip.frame_count")
    frame_rate = serializers.FloatField(source="clip.frame_rate")
    width = serializers.IntegerField(source="clip.columns")
    height = serializers.IntegerField(source="clip.rows")
    pixel_spacing_x_mm = serializers.FloatField(source="clip.pixel_spacing_x_mm", allow_null=True)
    pixel_spacing_y_mm = serializers.FloatField(source="clip.pixel_spacing_y_mm", allow_null=True)

    class Meta:
        model = ProjectItem
        fields = [
            "id",
            "clip",
            "frame_index",
            "split",
            "is_active",
            "judgement_count",
            "frame_count",
            "frame_rate",
            "width",
            "height",
            "pixel_spacing_x_mm",
            "pixel_spacing_y_mm",
        ]


class ItemFilter(django_filters.FilterSet):
    class Meta:
        model = ProjectItem
        fields = ["split", "is_active"]


@extend_schema(tags=["items"], responses={200: ItemSerializer(many=True), **refusals(404)})
class ProjectItemsView(generics.ListAPIView):
    """The project's items with their clips' facts, to members and staff."""

    serializer_class = ItemSerializer
    queryset = ProjectItem.objects.none()  # the model, for the schema; get_queryset chooses the rows
    pagination_class = IdCursorPagination
    filterset_class = ItemFilter

    def get_queryset(self):
        project = get_project_for(self.request.user, self.kwargs["slug"])
        return ProjectItem.objects.filter(project=project).select_related("clip")
