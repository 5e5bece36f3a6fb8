"""Typed service errors. The API turns each into a clear 4xx answer with ``code`` and ``detail``."""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidAnswer(ServiceError):
    status_code = 400
    code = "invalid_answer"


class NotFound(ServiceError):
    """Also used for a task issued to someone else: its existence is not revealed."""

    status_code = 404
    code = "not_found"


class ProjectNotOpen(ServiceError):
    status_code = 409
    code = "project_not_open"


class ConsensusReached(ServiceError):
    status_code = 409
    code = "consensus_reached"


class AlreadyAnswered(ServiceError):
    status_code = 409
    code = "already_answered"


class TaskExpired(ServiceError):
    status_code = 410
    code = "task_expired"


class TaskClosed(ServiceError):
    status_code = 409
    code = "task_closed"


class Busy(ServiceError):
    """A lock was not granted in time: the request may simply be repeated."""

    status_code = 503
    code = "busy"
