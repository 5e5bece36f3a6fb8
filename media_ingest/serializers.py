"""Shapes of the ingest API: what an upload and a job listing accept, and what a job looks like.

A job's payload holds our own fields only: its file name within the upload, status, our error
sentence and the clip's code (the hash of de-identified pixels). Never a DICOM attribute value.
"""

from __future__ import annotations

from rest_framework import serializers

from media_ingest.models import IngestJob

PAGE_DEFAULT = 50
PAGE_MAX = 200


class UploadInSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False), allow_empty=False, max_length=100
    )


class JobListInSerializer(serializers.Serializer):
    batch = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    status = serializers.ChoiceField(choices=IngestJob.Status.choices, required=False, allow_blank=True, default="")
    before = serializers.IntegerField(required=False, min_value=1, help_text="Jobs with a smaller id (next page).")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=PAGE_MAX, default=PAGE_DEFAULT)
    ids = serializers.RegexField(
        r"^\d{1,12}(,\d{1,12}){0,199}$",
        required=False,
        help_text="Only these jobs: up to 200 ids, comma-separated (an upload page following its files).",
    )

    def validate_ids(self, value: str) -> list[int]:
        return [int(part) for part in value.split(",")]


def job_payload(job: IngestJob) -> dict[str, object]:
    return {
        "id": job.pk,
        "batch": job.batch,
        "source_name": job.source_name,
        "status": job.status,
        "error": job.error,
        "clip": job.clip.code if job.clip_id and job.clip else None,
        "attempts": job.attempts,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
