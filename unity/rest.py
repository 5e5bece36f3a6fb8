"""How the JSON API reads bodies and words refusals (REST framework settings point here).

Every refusal is JSON ``{"code", "detail"}`` with a 4xx status, including the ones REST framework
and Django raise before a view runs its own checks: a body that is not JSON, nested too deeply to
parse (RecursionError), larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413), or holding text
PostgreSQL cannot store.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, pagination, parsers, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as rest_exception_handler

# Deeper than any answer needs (a keypoint answer is 5 levels), shallow enough that nothing
# that walks the data later (serialisers, json.dumps, the database driver) can hit the
# interpreter's recursion limit.
MAX_JSON_DEPTH = 32


class JSONParser(parsers.JSONParser):
    """REST framework's parser, refusing what it would let through to fail later."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
        check_storable(data)
        return data


def check_storable(data: object) -> None:
    """Raise ``ParseError`` unless ``data`` nests at most MAX_JSON_DEPTH levels and its text
    (keys and values) has no NUL and no lone surrogate: PostgreSQL refuses both in text and JSON
    columns, so they would fail at insert. Iterative, so any depth is safe to walk."""
    pending: list[tuple[object, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise exceptions.ParseError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
            children = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in children:
                if isinstance(key, str):
                    _check_text(key)
                pending.append((child, depth + 1))


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise exceptions.ParseError("JSON text holds a NUL character (\\u0000), which cannot be stored")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise exceptions.ParseError("JSON text holds a lone surrogate character (such as \\ud800)") from None


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else "invalid"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST framework's handler, with every answer shaped ``{"code", "detail"}`` and an oversize
    body answered 413 (Django raises it as a 400 HTML page otherwise)."""
    if isinstance(exc, RequestDataTooBig):
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        detail = f"The request body is larger than the {limit_mb} MB this API accepts."
        return Response({"code": "too_large", "detail": detail}, status=413)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    response = rest_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        response.data = {"code": _code(exc), "detail": exc.detail}
    return response


# --- OpenAPI: the shapes every endpoint shares ---------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every refusal: a machine code and a message (or, for invalid fields, a dict of messages)."""

    code = serializers.CharField()
    detail = serializers.JSONField()


def refusals(*statuses: int) -> dict[int, OpenApiResponse]:
    """Documented refusals, always ``{"code", "detail"}``. 400 (a body that is not JSON), 403 (not
    signed in) and 413 (a body too large) can answer any request and are included."""
    words = {
        400: "Invalid request",
        401: "Invalid token",
        403: "Not signed in, or not allowed",
        404: "No such object (or not yours to see)",
        405: "Method not allowed",
        406: "Not acceptable",
        409: "Conflict with the object's state",
        410: "Gone",
        413: "Body too large",
        415: "Unsupported media type",
        503: "Busy: try again",
    }
    return {
        status: OpenApiResponse(ErrorSerializer, description=words[status])
        for status in sorted({400, 401, 403, 405, 406, 413, 415, *statuses})
    }


class IdCursorPagination(pagination.CursorPagination):
    """Cursor pages in id order: stable under inserts, cheap at any depth."""

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
