from django.urls import path

from quality import views

urlpatterns = [path("p/<slug:slug>/quality/", views.dashboard, name="quality_dashboard")]
