from django.urls import path

from annotations import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("contributions.csv", views.contributions_csv, name="contributions_csv"),
    path("p/<slug:slug>/label/", views.label, name="label"),
    path("signed-in/", views.signed_in, name="signed_in"),
    path("manifest.webmanifest", views.web_manifest, name="web_manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("api/projects/<slug:slug>/tasks/next", api.NextTaskView.as_view(), name="api_next_task"),
    path("api/tasks/<uuid:task_id>", api.TaskView.as_view(), name="api_task"),
    path("api/tasks/<uuid:task_id>/judgement", api.JudgementView.as_view(), name="api_judgement"),
    path("api/tasks/<uuid:task_id>/skip", api.SkipView.as_view(), name="api_skip"),
    path("api/tasks/<uuid:task_id>/renew", api.RenewView.as_view(), name="api_renew"),
]
