from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects and experts"

    def ready(self) -> None:
        from projects import checks, signals  # noqa: F401 - registers checks and receivers
