from django.urls import path

from media_ingest import api, uploads
from media_ingest.views import clip_file, training_video

urlpatterns = [
    path("media/<str:code>/<path:name>", clip_file, name="clip_file"),
    path("p/<slug:slug>/training-video.mp4", training_video, name="training_video"),
    path("ingest/uploads/<slug:slug>/", uploads.create, name="tus_create"),
    path("ingest/uploads/u/<uuid:upload_id>", uploads.upload, name="tus_upload"),
    path("api/projects/<slug:slug>/ingest", api.ProjectIngestView.as_view(), name="api_ingest"),
    path("api/projects/<slug:slug>/ingest-jobs", api.ProjectIngestJobsView.as_view(), name="api_ingest_jobs"),
    path("api/ingest-jobs/<int:job_id>", api.IngestJobView.as_view(), name="api_ingest_job"),
]
