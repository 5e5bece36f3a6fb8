"""The labelling API: next task, submit a judgement, skip. Views authenticate, call services and
shape output; every refusal is a 4xx with ``{"code", "detail"}``."""

from __future__ import annotations

import numpy as np
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.errors import NotFound, ServiceError
from annotations.selectors import held_task
from annotations.serializers import (
    JudgementInSerializer,
    NextTaskInSerializer,
    SkipInSerializer,
    judgement_payload,
    task_payload,
)
from annotations.services import do_issue_next_task, do_renew_task, do_skip_task, do_submit_judgement
from projects.selectors import get_project_for


def error_response(error: ServiceError) -> Response:
    return Response({"code": error.code, "detail": error.detail}, status=error.status_code)


def invalid_response(errors: dict) -> Response:
    return Response({"code": "invalid", "detail": errors}, status=400)


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
            return Response(
                {"code": "no_more_tasks", "detail": "Nothing left for you in this project. Thank you!"}, status=200
            )
        return Response({"task": task_payload(task)}, status=200)


class TaskView(APIView):
    def get(self, request: Request, task_id: str) -> Response:
        task = held_task(task_id, request.user)
        if task is None:
            return error_response(NotFound("No such task."))
        return Response({"task": task_payload(task)})


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


class RenewView(APIView):
    def post(self, request: Request, task_id: str) -> Response:
        try:
            task = do_renew_task(task_id, expert=request.user)
        except ServiceError as error:
            return error_response(error)
        return Response({"task": str(task.pk), "expires_at": task.expires_at.isoformat()})
