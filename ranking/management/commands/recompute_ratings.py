"""manage.py recompute_ratings PROJECT_SLUG: rebuild a ranking project's ratings from its log."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from projects.models import Project
from ranking.models import RatingState
from ranking.services import do_recompute_ratings


class Command(BaseCommand):
    help = "Rebuild Glicko-2 ratings, the consensus fit and reliability from the judgement log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_slug")

    def handle(self, *args: Any, project_slug: str, **options: Any) -> None:
        try:
            project = Project.objects.get(slug=project_slug, kind=Project.Kind.RANKING)
        except Project.DoesNotExist:
            raise CommandError(f"no ranking project with slug {project_slug!r}") from None
        periods = do_recompute_ratings(project)
        state = RatingState.objects.get(project=project)
        ssr = "n/a" if state.ssr is None else f"{state.ssr:.3f}"
        self.stdout.write(
            f"{project.slug}: {periods} rating periods, {state.judgements} judgements rated "
            f"(up to id {state.last_judgement_id}), SSR {ssr}"
        )
