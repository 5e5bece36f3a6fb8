"""The labelling API: next task, submit a judgement, skip. Views authenticate, call services and
shape output; every refusal is a 4xx with ``{"code", "detail"}``."""

from __future__ import annotations

import django_filters
import numpy as np
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.errors import NotFound, ServiceError
from annotations.models import Judgement
from annotations.selectors import held_task, short_of_items
from annotations.serializers import (
    JudgementInSerializer,
    NextTaskInSerializer,
    SkipInSerializer,
    judgement_payload,
    task_payload,
)
from annotations.services import do_issue_next_task, do_renew_task, do_skip_task, do_submit_judgement
from projects.selectors import get_project_for
from unity.rest import IdCursorPagination, refusals

# Documentation of the task API's answers (the payloads are built in annotations.serializers).
TASK = inline_serializer(
    "TaskEnvelope",
    {
        "task": serializers.JSONField(
            required=False, help_text="The task: id, kind, items with their clips' frame manifests, expiry."
        ),
        "code": serializers.CharField(required=False, help_text="no_more_tasks when nothing is left."),
        "detail": serializers.CharField(required=False),
    },
)
ONE_TASK = inline_serializer("TaskOne", {"task": serializers.JSONField()})
RECORDED = inline_serializer(
    "JudgementRecorded", {"judgement": serializers.JSONField(), "created": serializers.BooleanField()}
)
SKIPPED = inline_serializer("TaskSkipped", {"task": serializers.CharField(), "status": serializers.CharField()})
RENEWED = inline_serializer("TaskRenewed", {"task": serializers.CharField(), "expires_at": serializers.DateTimeField()})


def error_response(error: ServiceError) -> Response:
    return Response({"code": error.code, "detail": error.detail}, status=error.status_code)


def invalid_response(errors: dict) -> Response:
    return Response({"code": "invalid", "detail": errors}, status=400)


@extend_schema(tags=["tasks"], request=NextTaskInSerializer, responses={200: TASK, **refusals(404, 409, 503)})
class NextTaskView(APIView):
    def post(self, request: Request, slug: str) -> Response:
        project = get_project_for(request.user, slug)
        data = NextTaskInSerializer(data=request.data)
        if not data.is_valid():
            return invalid_response(data.errors)
        try:
            task = do_issue_next_task(
                project,
                expert=request.user,
                rng=np.random.default_rng(),
                exclude_task_ids=[str(t) for t in data.validated_data["exclude"]],
            )
        except ServiceError as error:
            return error_response(error)
        if task is None:
            # Not a thank-you when nothing could ever be issued: say why (no clips ready yet).
            if reason := short_of_items(project):
                return Response({"code": "no_items_ready", "detail": reason}, status=200)
            return Response(
                {"code": "no_more_tasks", "detail": "Nothing left for you in this project. Thank you!"}, status=200
            )
        return Response({"task": task_payload(task)}, status=200)


@extend_schema(tags=["tasks"], responses={200: ONE_TASK, **refusals(404)})
class TaskView(APIView):
    def get(self, request: Request, task_id: str) -> Response:
        task = held_task(task_id, request.user)
        if task is None:
            return error_response(NotFound("No such task."))
        return Response({"task": task_payload(task)})


@extend_schema(
    tags=["tasks"], request=JudgementInSerializer, responses={200: RECORDED, 201: RECORDED, **refusals(404, 409, 410)}
)
class JudgementView(APIView):
    def post(self, request: Request, task_id: str) -> Response:
        data = JudgementInSerializer(data=request.data)
        if not data.is_valid():
            return invalid_response(data.errors)
        try:
            judgement, created = do_submit_judgement(task_id, expert=request.user, **data.validated_data)
        except ServiceError as error:
            return error_response(error)
        return Response({"judgement": judgement_payload(judgement), "created": created}, status=201 if created else 200)


@extend_schema(tags=["tasks"], request=SkipInSerializer, responses={200: SKIPPED, **refusals(404, 409, 410)})
class SkipView(APIView):
    def post(self, request: Request, task_id: str) -> Response:
        data = SkipInSerializer(data=request.data)
        if not data.is_valid():
            return invalid_response(data.errors)
        try:
            task = do_skip_task(task_id, expert=request.user, reason=data.validated_data["reason"])
        except ServiceError as error:
            return error_response(error)
        return Response({"task": str(task.pk), "status": task.status})


@extend_schema(tags=["tasks"], request=None, responses={200: RENEWED, **refusals(404, 409, 410)})
class RenewView(APIView):
    def post(self, request: Request, task_id: str) -> Response:
        try:
            task = do_renew_task(task_id, expert=request.user)
        except ServiceError as error:
            return error_response(error)
        return Response({"task": str(task.pk), "expires_at": task.expires_at.isoformat()})


# --- Read API: a project's judgements -------------------------------------------------------------


class JudgementSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField(help_text="The task's item ids, in the order shown.")

    class Meta:
        model = Judgement
        fields = ["id", "task", "expert", "items", "answer", "not_sure", "time_on_task_ms", "created_at", "supersedes"]

    def get_items(self, judgement: Judgement) -> list[int]:
        return [link.item_id for link in judgement.task.task_items.all()]


class JudgementFilter(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Judgement
        fields = ["expert", "not_sure"]


@extend_schema(tags=["judgements"], responses={200: JudgementSerializer(many=True), **refusals(404)})
class ProjectJudgementsView(generics.ListAPIView):
    """The project's judgements: every one to staff, an expert's own to an expert (a member)."""

    serializer_class = JudgementSerializer
    queryset = Judgement.objects.none()  # the model, for the schema; get_queryset chooses the rows
    pagination_class = IdCursorPagination
    filterset_class = JudgementFilter

    def get_queryset(self):
        project = get_project_for(self.request.user, self.kwargs["slug"])
        judgements = Judgement.objects.filter(project=project).prefetch_related("task__task_items")
        if not self.request.user.is_staff:
            judgements = judgements.filter(expert=self.request.user)
        return judgements
