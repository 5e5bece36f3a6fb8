"""Files sent through Python with HTTP Range support (one range; a multi-part range is answered
with the whole file), opened only when the body is sent and closed when it has been. Production
hands files to nginx instead (X-Accel-Redirect), which answers ranges itself."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import IO

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_BLOCK = 256 * 1024


def ranged_response(
    request: HttpRequest, *, size: int, open_file: Callable[[], IO[bytes]], content_type: str
) -> HttpResponseBase:
    byte_range = parse_range(request.headers.get("Range", ""), size)
    if byte_range == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = (0, size - 1) if byte_range is None else byte_range
    response = StreamingHttpResponse(
        _read(open_file, start, end - start + 1),
        status=200 if byte_range is None else 206,
        content_type=content_type,
    )
    response["Content-Length"] = str(end - start + 1)
    if byte_range is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One byte range as (start, end) inclusive; None for no (or a multi-part) range, which is
    answered with the whole file; "unsatisfiable" for a range outside the file."""
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def _read(open_file: Callable[[], IO[bytes]], start: int, remaining: int) -> Iterator[bytes]:
    with open_file() as handle:
        handle.seek(start)
        while remaining > 0:
            block = handle.read(min(_BLOCK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block
