"""The read API and the OpenAPI schema; the task and ingest endpoints live in their apps' urls."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from annotations.api import ProjectJudgementsView
from datasets.api import DownloadListView, ReleaseDetailView, ReleaseListView
from media_ingest.api import ProjectItemsView
from projects.api import ProjectDetailView, ProjectListView
from ranking.api import ProjectRatingsView

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("api/projects", ProjectListView.as_view(), name="api_projects"),
    path("api/projects/<slug:slug>", ProjectDetailView.as_view(), name="api_project"),
    path("api/projects/<slug:slug>/items", ProjectItemsView.as_view(), name="api_project_items"),
    path("api/projects/<slug:slug>/judgements", ProjectJudgementsView.as_view(), name="api_project_judgements"),
    path("api/projects/<slug:slug>/ratings", ProjectRatingsView.as_view(), name="api_project_ratings"),
    path("api/releases", ReleaseListView.as_view(), name="api_releases"),
    path("api/releases/<int:release_id>", ReleaseDetailView.as_view(), name="api_release"),
    path("api/downloads", DownloadListView.as_view(), name="api_downloads"),
]
