from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Dataset releases"
    default_auto_field = "django.db.models.BigAutoField"
