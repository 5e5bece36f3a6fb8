from django.contrib import admin
from django.urls import include, path

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
]
