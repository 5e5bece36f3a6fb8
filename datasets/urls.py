from django.urls import path

from datasets import views

urlpatterns = [
    path("datasets/", views.catalogue_view, name="dataset_catalogue"),
    path("datasets/<slug:slug>/v<int:version>/", views.release_view, name="dataset_release"),
    path("datasets/<slug:slug>/v<int:version>/download", views.download_view, name="dataset_download"),
]
