from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views import defaults

from unity.health import healthz

admin.site.site_header = "Unity administration"
admin.site.site_title = "Unity"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("projects.urls")),
    path("", include("media_ingest.urls")),
    path("", include("annotations.urls")),
    path("", include("datasets.urls")),
    path("", include("quality.urls")),
    path("", include("unity.api_urls")),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Under /api/ a 404 is JSON like every other API refusal (a malformed task id never reaches a
    view: the URL pattern refuses it); elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "No such API endpoint or object."}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found
