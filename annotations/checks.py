"""System check: open projects that cannot issue a task to anyone (no ready clip; a ranking
project with fewer ready clips than its batch). A warning, shown by ``manage.py check`` and at
start-up, beside the same warning on the project's admin page."""

from __future__ import annotations

from django.core.checks import Warning as CheckWarning
from django.core.checks import register
from django.db import DatabaseError

from annotations.selectors import ready_item_counts, short_of_items
from projects.models import Project


@register("projects")
def check_projects_can_issue(app_configs: object, **kwargs: object) -> list[CheckWarning]:
    try:
        projects = list(Project.objects.filter(status=Project.Status.OPEN).order_by("slug"))
        ready = ready_item_counts(projects)  # one query, at every start-up
        found = [(project, short_of_items(project, ready.get(project.pk, 0))) for project in projects]
    except DatabaseError:  # not migrated yet, or no database: nothing to say
        return []
    return [
        CheckWarning(
            f"Open project {project.slug!r} cannot issue tasks: {reason}",
            hint="Ingest clips into it (admin: Ingest DICOM), or lower its batch size.",
            obj=project,
            id="unity.W101",
        )
        for project, reason in found
        if reason
    ]
