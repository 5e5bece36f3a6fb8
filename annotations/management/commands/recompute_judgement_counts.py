from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.services import do_recompute_judgement_counts
from projects.models import Project


class Command(BaseCommand):
    help = "Rebuild each item's judgement count of a project from the judgement log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="The project's slug.")

    def handle(self, *args: object, **options: object) -> None:
        try:
            project = Project.objects.get(slug=options["project"])
        except Project.DoesNotExist:
            raise CommandError(f"no project with slug {options['project']!r}") from None
        changed = do_recompute_judgement_counts(project)
        self.stdout.write(f"{changed} item count(s) corrected")
