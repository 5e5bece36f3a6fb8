from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from annotations.models import Judgement, Task
from annotations.selectors import task_items
from media_ingest.models import Clip


def clip_file_url(clip: Clip, name: str) -> str:
    return reverse("clip_file", kwargs={"code": clip.code, "name": name.removeprefix(clip.storage_prefix + "/")})


def clip_payload(clip: Clip) -> dict[str, object]:
    return {
        "code": clip.code,
        "frame_count": clip.frame_count,
        "frame_rate": clip.frame_rate,
        "width": clip.columns,
        "height": clip.rows,
        "pixel_spacing_mm": [clip.pixel_spacing_x_mm, clip.pixel_spacing_y_mm],
        "video_url": clip_file_url(clip, clip.video_name) if clip.video_name else None,
        "poster_url": clip_file_url(clip, clip.poster_name) if clip.poster_name else None,
        "manifest_url": clip_file_url(clip, clip.frames_manifest_name) if clip.frames_manifest_name else None,
    }


def task_payload(task: Task) -> dict[str, object]:
    return {
        "id": str(task.pk),
        "project": task.project.slug,
        "kind": task.project.kind,
        "status": task.status,
        "issued_at": task.issued_at.isoformat(),
        "expires_at": task.expires_at.isoformat(),
        "items": [
            {"id": item.id, "position": item.position, "frame_index": item.frame_index, "clip": clip_payload(item.clip)}
            for item in task_items(task)
        ],
    }


class JudgementInSerializer(serializers.Serializer):
    answer = serializers.JSONField()
    not_sure = serializers.BooleanField(default=False)
    feedback = serializers.CharField(allow_blank=True, required=False, default="", max_length=4000)
    time_on_task_ms = serializers.IntegerField(min_value=0, required=False, default=0)
    client_info = serializers.JSONField(required=False, default=dict)


class SkipInSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class NextTaskInSerializer(serializers.Serializer):
    exclude = serializers.ListField(child=serializers.UUIDField(), required=False, default=list, max_length=10)


def judgement_payload(judgement: Judgement) -> dict[str, object]:
    return {
        "id": judgement.pk,
        "task": str(judgement.task_id),
        "answer": judgement.answer,
        "not_sure": judgement.not_sure,
        "created_at": judgement.created_at.isoformat(),
    }
