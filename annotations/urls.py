from django.urls import path

from annotations import api

urlpatterns = [
    path("api/projects/<slug:slug>/tasks/next", api.NextTaskView.as_view(), name="api_next_task"),
    path("api/tasks/<uuid:task_id>", api.TaskView.as_view(), name="api_task"),
    path("api/tasks/<uuid:task_id>/judgement", api.JudgementView.as_view(), name="api_judgement"),
    path("api/tasks/<uuid:task_id>/skip", api.SkipView.as_view(), name="api_skip"),
]
