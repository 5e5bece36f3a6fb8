"""Projects whose clips are synthetic views with known truth (media_ingest.synthetic_views), their
grey arrays stored where ingest stores them, answered through the real services."""

from __future__ import annotations

import io

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from annotations.services import do_issue_task, do_submit_judgement
from media_ingest.models import Clip, ProjectItem
from media_ingest.synthetic_views import VIEWS, ViewPool, sample_pool
from projects.models import Project
from projects.services import do_add_member
from tests.factories import ready_clip
from tests.support import make_project

VIEW_SCHEMA = {"classes": [{"key": view.lower(), "name": view, "description": view} for view in VIEWS]}


def store_clip(seed: str, frames: np.ndarray, *, study: str, side: int = 112) -> Clip:
    """A ready clip (``tests.factories.ready_clip``) whose grey array is ``frames`` ``[n, 112,
    112]``, stored where ingest stores it, shown at ``side`` pixels."""
    clip = ready_clip(seed, frames=len(frames), width=side, height=side)
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(frames, dtype=np.uint8), allow_pickle=False)
    clip.array_name = default_storage.save(f"{clip.storage_prefix}/array.npy", ContentFile(buffer.getvalue()))
    clip.study_key = study
    clip.save(update_fields=["array_name", "study_key"])
    return clip


def views_project(n: int, *experts, slug: str, seed: int = 0, **fields) -> tuple[Project, ViewPool, list[ProjectItem]]:
    """A classification project of ``n`` single-frame synthetic views (two clips per study)."""
    fields.setdefault("target_views_per_item", 1)
    project = make_project(Project.Kind.CLASSIFICATION, slug=slug, label_schema=VIEW_SCHEMA, **fields)
    for expert in experts:
        do_add_member(project, user=expert)
    found = sample_pool(n, seed=seed)
    items = [
        ProjectItem.objects.create(
            project=project, clip=store_clip(f"{slug}-{i}", found.images[i][None], study=f"{slug}-study-{i // 2}")
        )
        for i in range(n)
    ]
    return project, found, items


def answer_class(project: Project, expert, item: ProjectItem, key: str) -> None:
    """``expert`` answers ``item`` with class ``key`` through the services, as the app would."""
    task = do_issue_task(project, expert=expert, items=[item], rng=np.random.default_rng(0))
    do_submit_judgement(task.pk, expert=expert, answer={"class": key})


def true_key(found: ViewPool, index: int) -> str:
    return VIEWS[int(found.views[index])].lower()
