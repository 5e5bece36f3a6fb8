from django.urls import path

from projects import views

urlpatterns = [
    path("demo-login/", views.demo_login, name="demo_login"),
    path("p/<slug:slug>/", views.project_detail, name="project_detail"),
]
