"""Rows for tests of issuing and judging logic that never touch media files.

Clips normally come only from ingest (media_ingest.services); tests of media, serving and the
browser use real ingest. Here a clip is just the row the task logic reads.
"""

from __future__ import annotations

import hashlib

from media_ingest.models import Clip, ProjectItem
from projects.models import Project
from projects.services import do_add_member
from tests.support import make_project


def ready_clip(seed: str, *, frames: int = 40, width: int = 320, height: int = 240) -> Clip:
    code = hashlib.sha256(seed.encode()).hexdigest()
    prefix = f"{code[:2]}/{code[2:4]}/{code}"
    return Clip.objects.create(
        code=code,
        status=Clip.Status.READY,
        frame_count=frames,
        frame_rate=30.0,
        rows=height,
        columns=width,
        storage_prefix=prefix,
        video_name=f"{prefix}/video.mp4",
        poster_name=f"{prefix}/poster.jpg",
        frames_manifest_name=f"{prefix}/frames/manifest.json",
    )


def project_items(project: Project, count: int) -> list[ProjectItem]:
    return [
        ProjectItem.objects.create(project=project, clip=ready_clip(f"{project.slug}-{index}"))
        for index in range(count)
    ]


# A point and a curve (default_schema("keypoints") has only a curve).
KEYPOINTS_SCHEMA = {
    "points": [{"key": "apex", "name": "Apex", "colour": "#000000"}],
    "curves": [{"key": "lv", "name": "LV", "colour": "#ffffff", "min_points": 3}],
}


def project_with_items(kind: str, *experts, items: int, slug: str | None = None, **fields) -> Project:
    """An open project of ``kind`` whose members are ``experts``, with ``items`` ready items
    (320x240, 40 frames). Keypoint projects ask for KEYPOINTS_SCHEMA unless told otherwise."""
    if kind == Project.Kind.KEYPOINTS:
        fields.setdefault("label_schema", KEYPOINTS_SCHEMA)
    project = make_project(kind, slug=slug, **fields)
    for expert in experts:
        do_add_member(project, user=expert)
    project_items(project, items)
    return project
