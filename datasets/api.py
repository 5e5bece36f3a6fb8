"""Read API: released datasets (public, like the catalogue) and downloads (one's own; staff all)."""

from __future__ import annotations

import django_filters
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers

from datasets.models import Download, Release
from unity.rest import IdCursorPagination, refusals


class ReleaseSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug")
    kind = serializers.CharField(source="project.kind")
    page = serializers.SerializerMethodField(help_text="The release's public page (card, licence, download).")
    download = serializers.SerializerMethodField(help_text="The archive (sign-in and the accepted licence needed).")

    class Meta:
        model = Release
        fields = [
            "id",
            "project",
            "kind",
            "version",
            "title",
            "description",
            "citation",
            "licence",
            "status",
            "frozen_at",
            "archive_size",
            "archive_sha256",
            "summary",
            "withdrawn_at",
            "withdrawn_reason",
            "page",
            "download",
        ]

    def get_page(self, release: Release) -> str:
        return reverse("dataset_release", args=[release.project.slug, release.version])

    def get_download(self, release: Release) -> str:
        return reverse("dataset_download", args=[release.project.slug, release.version])


class ReleaseFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug")

    class Meta:
        model = Release
        fields = ["project", "status", "licence"]


def public_releases():
    return Release.objects.filter(status__in=[Release.Status.READY, Release.Status.WITHDRAWN]).select_related("project")


@extend_schema(tags=["releases"], responses={200: ReleaseSerializer(many=True), **refusals(404)})
class ReleaseListView(generics.ListAPIView):
    """Released datasets (ready and withdrawn; never one still building), to anyone."""

    serializer_class = ReleaseSerializer
    pagination_class = IdCursorPagination
    permission_classes = [permissions.AllowAny]
    filterset_class = ReleaseFilter

    def get_queryset(self):
        return public_releases()


@extend_schema(tags=["releases"], responses={200: ReleaseSerializer, **refusals(404)})
class ReleaseDetailView(generics.RetrieveAPIView):
    serializer_class = ReleaseSerializer
    permission_classes = [permissions.AllowAny]
    lookup_url_kwarg = "release_id"

    def get_queryset(self):
        return public_releases()


class DownloadSerializer(serializers.ModelSerializer):
    release = serializers.IntegerField(source="release_id")

    class Meta:
        model = Download
        fields = ["id", "release", "user", "byte_range", "at"]


class DownloadFilter(django_filters.FilterSet):
    class Meta:
        model = Download
        fields = ["release", "user"]


@extend_schema(tags=["releases"], responses={200: DownloadSerializer(many=True), **refusals(404)})
class DownloadListView(generics.ListAPIView):
    """Downloads of releases: one's own; every one to staff."""

    serializer_class = DownloadSerializer
    queryset = Download.objects.none()  # the model, for the schema; get_queryset chooses the rows
    pagination_class = IdCursorPagination
    filterset_class = DownloadFilter

    def get_queryset(self):
        downloads = Download.objects.all()
        if not self.request.user.is_staff:
            downloads = downloads.filter(user=self.request.user)
        return downloads
