"""Read API: the projects a user may see (staff: all but archived; experts: open and completed
projects they belong to). A project one may not see is a 404, as everywhere."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from projects.models import Project
from projects.selectors import get_project_for, projects_visible_to
from unity.rest import IdCursorPagination, refusals


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = [
            "slug",
            "title",
            "kind",
            "status",
            "echo_view",
            "question",
            "guidelines",
            "axis_start_label",
            "axis_end_label",
            "label_schema",
            "batch_size",
            "target_views_per_item",
            "created_at",
        ]


@extend_schema(tags=["projects"], responses={200: ProjectSerializer(many=True), **refusals(404)})
class ProjectListView(generics.ListAPIView):
    serializer_class = ProjectSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self):
        return projects_visible_to(self.request.user)


@extend_schema(tags=["projects"], responses={200: ProjectSerializer, **refusals(404)})
class ProjectDetailView(generics.RetrieveAPIView):
    serializer_class = ProjectSerializer

    def get_object(self) -> Project:
        return get_project_for(self.request.user, self.kwargs["slug"])
