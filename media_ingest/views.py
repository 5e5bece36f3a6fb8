"""Serving derived media: only to signed-in users allowed to see a project holding the clip.

Everyone else gets 404 (never 403: a clip's existence is private). Files are content-addressed,
hence immutable: long-lived ``private`` cache headers and a stable ETag. Development streams
files through Python with HTTP Range support; production (``UNITY_MEDIA_SERVING = "x-accel"``)
hands the file to nginx with X-Accel-Redirect, which also answers Range requests itself.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from media_ingest.layout import CODE_PATTERN, SERVED_NAME
from media_ingest.selectors import clip_visible_to
from projects.models import Project
from projects.selectors import is_member
from unity.ranges import ranged_response

CACHE_CONTROL = "private, max-age=31536000, immutable"
CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".json": "application/json",
    ".bin": "application/octet-stream",
    ".npy": "application/octet-stream",
}


@require_safe
def clip_file(request: HttpRequest, code: str, name: str) -> HttpResponseBase:
    if not CODE_PATTERN.match(code) or not SERVED_NAME.match(name):
        raise Http404("No such file")
    clip = clip_visible_to(request.user, code)
    if clip is None:
        raise Http404("No such file")
    content_type = CONTENT_TYPES[name[name.rindex(".") :]]
    etag = f'"{code[:16]}-{name.replace("/", "-")}"'
    return _serve(request, f"{clip.storage_prefix}/{name}", content_type, etag=etag, cache_control=CACHE_CONTROL)


@require_safe
def training_video(request: HttpRequest, slug: str) -> HttpResponseBase:
    """A project's uploaded training video, to its members (and staff) only; 404 otherwise. The
    URL stays when the video is replaced: revalidated hourly by its (content) ETag."""
    project = Project.objects.filter(slug=slug).exclude(training_video_name="").first()
    if project is None or not (request.user.is_staff or is_member(request.user, project)):
        raise Http404("No such file")
    name = project.training_video_name
    etag = f'"{name.rsplit("/", 1)[-1][:16]}"'
    return _serve(request, name, "video/mp4", etag=etag, cache_control="private, max-age=3600")


def _serve(
    request: HttpRequest, storage_name: str, content_type: str, *, etag: str, cache_control: str
) -> HttpResponseBase:
    """A private file: 304 on a matching ETag; nginx sends it in production (X-Accel-Redirect),
    Django with Range support otherwise."""
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponseBase = HttpResponse(status=304)
    elif settings.UNITY_MEDIA_SERVING == "x-accel":
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.UNITY_X_ACCEL_PREFIX.rstrip("/") + "/" + storage_name
    else:
        response = _file_response(request, storage_name, content_type)
    response["Cache-Control"] = cache_control
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    patch_vary_headers(response, ["Cookie"])
    return response


def _file_response(request: HttpRequest, storage_name: str, content_type: str) -> HttpResponseBase:
    try:
        size = default_storage.size(storage_name)
    except OSError:
        raise Http404("No such file") from None
    return ranged_response(
        request, size=size, open_file=lambda: default_storage.open(storage_name, "rb"), content_type=content_type
    )
