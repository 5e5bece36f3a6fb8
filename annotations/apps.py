from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Tasks and judgements"

    def ready(self) -> None:
        from annotations import checks  # noqa: F401 - registers the system check
        from annotations.selectors import short_of_items
        from projects.admin import PROJECT_WARNINGS

        PROJECT_WARNINGS.append(short_of_items)
