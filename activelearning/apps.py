from django.apps import AppConfig


class ActivelearningConfig(AppConfig):
    name = "activelearning"
    verbose_name = "Active learning"
