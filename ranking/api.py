"""Read API: a ranking project's stored ratings (to members and staff), and the provisional
ratings of the judgements not yet folded, so a script sees what the admin's rank view shows."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from projects.models import Project
from projects.selectors import get_project_for
from ranking.models import ItemRating, RatingState
from unity.rest import IdCursorPagination, refusals


class RatingSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id")
    clip = serializers.CharField(source="item.clip.code")
    rd = serializers.SerializerMethodField(help_text="RD now (idle growth since the item was last rated).")

    class Meta:
        model = ItemRating
        fields = [
            "item",
            "clip",
            "rating",
            "rd",
            "volatility",
            "views",
            "score",
            "score_se",
            "rank",
            "rank_low",
            "rank_high",
        ]

    def get_rd(self, rating: ItemRating) -> float:
        return float(rating.effective_rd(self.context["periods"]))


class RatingCursorPagination(IdCursorPagination):
    ordering = "item_id"


@extend_schema(tags=["ratings"], responses={200: RatingSerializer(many=True), **refusals(404)})
class ProjectRatingsView(generics.ListAPIView):
    """Glicko-2 ratings and the consensus scale per item, in item id order (ranking projects)."""

    serializer_class = RatingSerializer
    queryset = ItemRating.objects.none()  # the model, for the schema; get_queryset chooses the rows
    pagination_class = RatingCursorPagination

    def get_project(self) -> Project:
        if not hasattr(self, "_project"):
            project = get_project_for(self.request.user, self.kwargs["slug"])
            if project.kind != Project.Kind.RANKING:
                raise Http404("Not a ranking project")
            self._project = project
        return self._project

    def get_queryset(self):
        return ItemRating.objects.filter(project=self.get_project()).select_related("item__clip")

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        periods = 0
        if "slug" in self.kwargs:  # not when the schema is generated
            found = RatingState.objects.filter(project=self.get_project()).values_list("periods", flat=True)
            periods = next(iter(found), 0)
        context["periods"] = periods
        return context
