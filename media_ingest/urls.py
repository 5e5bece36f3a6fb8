from django.urls import path

from media_ingest.views import clip_file

urlpatterns = [
    path("media/<str:code>/<path:name>", clip_file, name="clip_file"),
]
