"""Running a retrain (the learning worker): reading labels, training, and swapping the serving queue.

A run reads the consensus labels, trains (or cold-starts), scores the pool and writes a new
immutable ``ModelVersion`` with its predictions; only then, in one short transaction, does the
project's ``serving`` pointer move to it. Anything that fails before that leaves the previous
version serving and the error on the run (shown in admin). The same labels (and pool) give the
same digest: a retrain on them writes nothing and reports "unchanged".
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from datetime import timedelta
from importlib import import_module
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from activelearning.models import LearningRun, LearningSettings, ModelVersion, Prediction
from activelearning.params import COLD_START, KEYPOINTS, QUALITY, VIEW, TrainParams
from activelearning.selectors import (
    LearningError,
    PoolItem,
    class_keys,
    consensus_labels,
    images,
    labelled_count,
    point_keys,
    pool,
    settings_for,
)
from media_ingest.conf import ARRAY_SIDE
from projects.models import Project

if TYPE_CHECKING:
    from activelearning import loop

logger = logging.getLogger(__name__)

KIND_LEARNER = {
    Project.Kind.CLASSIFICATION: VIEW,
    Project.Kind.KEYPOINTS: KEYPOINTS,
    Project.Kind.RANKING: QUALITY,
}
#: A queued or running run younger than this keeps the periodic check from queueing another.
RUN_STALE_AFTER = timedelta(hours=2)
#: Bumped when the learners or the loop change what they produce for the same labels.
LOOP_VERSION = 1


def train_params() -> TrainParams:
    """The learners' settings (``settings.ACTIVE_LEARNING``): 64x64 input by default, two threads."""
    return TrainParams(**getattr(settings, "ACTIVE_LEARNING", {}))


def do_queue_due_runs(now=None) -> list[LearningRun]:
    """Periodic: queue a retrain for every enabled project that needs one (no version yet;
    ``retrain_every`` new labels since the serving version; or ``retrain_hours`` passed and the
    labels changed). Skips projects with a run queued or running in the last two hours.
    Returns the runs it recorded (queued); the caller sends them to the worker."""
    now = now or timezone.now()
    queued = []
    for learning in LearningSettings.objects.filter(enabled=True).select_related("project", "serving"):
        project = learning.project
        if LearningRun.objects.filter(
            project=project,
            status__in=[LearningRun.Status.QUEUED, LearningRun.Status.RUNNING],
            created_at__gte=now - RUN_STALE_AFTER,
        ).exists():
            continue
        serving = learning.serving
        trigger = None
        if serving is None:
            trigger = LearningRun.Trigger.SCHEDULE
        else:
            current = labelled_count(project)
            if current - serving.label_count >= learning.retrain_every:
                trigger = LearningRun.Trigger.LABELS
            elif (
                learning.retrain_hours
                and now - serving.created_at >= timedelta(hours=learning.retrain_hours)
                and current != serving.label_count
            ):
                trigger = LearningRun.Trigger.SCHEDULE
        if trigger:
            queued.append(LearningRun.objects.create(project=project, trigger=trigger))
    return queued


def do_run(run_id: int) -> LearningRun:
    """Run a queued retrain. Idempotent: a redelivered message finds the run no longer queued and
    returns it untouched. Any failure is recorded on the run; the serving queue is unchanged."""
    claimed = LearningRun.objects.filter(pk=run_id, status=LearningRun.Status.QUEUED).update(
        status=LearningRun.Status.RUNNING, started_at=timezone.now()
    )
    run = LearningRun.objects.select_related("project").get(pk=run_id)
    if not claimed:
        return run
    try:
        version, created = do_retrain(run.project)
    except Exception as exc:  # noqa: BLE001 - every failure ends on the run, shown to the admin
        # Messages name item ids and shapes only, never file names or patient data.
        run.status, run.error = LearningRun.Status.FAILED, _describe(exc)
        logger.warning("learning run %s for project %s failed: %s", run.pk, run.project_id, run.error)
    else:
        run.status = LearningRun.Status.DONE if created else LearningRun.Status.UNCHANGED
        run.version = version
        logger.info(
            "learning run %s for project %s: %s (version %s)", run.pk, run.project_id, run.status, version.number
        )
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "version", "finished_at"])
    return run


def _describe(exc: Exception) -> str:
    if isinstance(exc, LearningError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:2000]


def _targets(project: Project, items: list[PoolItem], rows: list[int], labels: list[object]) -> tuple[np.ndarray, dict]:
    """Training targets in the learner's terms, and the frame each keypoint label is on."""
    kind = KIND_LEARNER[project.kind]
    if kind == VIEW:
        index = {key: i for i, key in enumerate(class_keys(project))}
        return np.array([index[label] for label in labels], dtype=np.int64), {}
    if kind == KEYPOINTS:
        keys = point_keys(project)
        out = np.full((len(rows), len(keys), 2), np.nan, np.float32)
        frames = {}
        for r, (row, label) in enumerate(zip(rows, labels, strict=True)):
            item = items[row]
            frames[item.id] = label["frame"]
            sx, sy = ARRAY_SIDE / max(item.columns, 1), ARRAY_SIDE / max(item.rows, 1)
            for k, key in enumerate(keys):
                point = label["points"].get(key)
                if point is not None:
                    out[r, k] = (point[0] * sx, point[1] * sy)
        return out, frames
    return np.asarray(labels, dtype=np.float64), {}


def _digest(
    project: Project, learning: LearningSettings, labels: dict, items: list[PoolItem], params: TrainParams
) -> str:
    content = {
        "loop": LOOP_VERSION,
        "kind": project.kind,
        "strategy": learning.strategy,
        "passes": learning.mc_passes,
        "head": learning.diverse_head,
        "min_labels": learning.min_labels,
        "params": params.__dict__,
        "labels": sorted((int(k), v) for k, v in labels.items()),
        "pool": [item.id for item in items],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def do_retrain(project: Project) -> tuple[ModelVersion, bool]:
    """Train and score; returns (the serving version, whether it is new)."""
    learning = settings_for(project)
    if project.kind not in KIND_LEARNER:
        raise LearningError(f"{project.get_kind_display()} projects have no learner yet.")
    params = train_params()
    labels = consensus_labels(project)
    ranking = project.kind == Project.Kind.RANKING
    items = pool(project, include_inactive=ranking)
    if not items:
        raise LearningError("No ready items to score yet.")
    digest = _digest(project, learning, labels, items, params)
    existing = ModelVersion.objects.filter(project=project, digest=digest).first()
    if existing is not None:
        _serve(learning, existing)
        return existing, False
    row_of = {item.id: row for row, item in enumerate(items)}
    if project.kind == Project.Kind.CLASSIFICATION:
        known = set(class_keys(project))
        labels = {k: v for k, v in labels.items() if v in known}  # a class since removed from the schema
    rows = [row_of[item_id] for item_id in labels if item_id in row_of]
    used = [labels[items[row].id] for row in rows]
    targets, frames = _targets(project, items, rows, used)
    if ranking:
        candidates = [row for row, item in enumerate(items) if not item.active]
    else:
        candidates = [row for row, item in enumerate(items) if not item.complete]
    # torch is imported here, in the learning worker's run, not by every process that imports this.
    loop = import_module("activelearning.loop")
    config = loop.LoopConfig(
        strategy=learning.strategy,
        passes=learning.mc_passes,
        head=learning.diverse_head,
        min_labels=learning.min_labels,
        params=params,
    )
    outcome = loop.run(
        KIND_LEARNER[project.kind],
        pool_size=len(items),
        load=lambda part: images([items[row] for row in part], frames),
        labelled_rows=np.asarray(rows, dtype=np.int64),
        targets=targets,
        groups=[items[row].study_key for row in rows],
        candidates=np.asarray(candidates, dtype=np.int64),
        config=config,
        classes=len(class_keys(project)),
        landmarks=len(point_keys(project)),
    )
    try:
        version = _write_version(
            project, learning=learning, digest=digest, labels=labels, items=items, outcome=outcome, config=config
        )
    except IntegrityError:
        # Another run wrote the same labels first: that one serves.
        version = ModelVersion.objects.get(project=project, digest=digest)
        _serve(learning, version)
        return version, False
    return version, True


def _serve(learning: LearningSettings, version: ModelVersion) -> None:
    """Point the project at ``version``: its settings, and the project row the issuer reads."""
    with transaction.atomic():
        LearningSettings.objects.filter(pk=learning.pk).update(serving=version)
        learning.serving = version
        Project.objects.filter(pk=learning.project_id).update(
            queue_version=version.pk if LearningSettings.objects.get(pk=learning.pk).enabled else None
        )


def _values(project: Project, items: list[PoolItem], outcome: loop.Outcome) -> list[dict]:
    n = len(items)
    if outcome.kind == VIEW:
        keys = class_keys(project)
        best = outcome.raw.argmax(axis=1)
        return [
            {"class": keys[b], "probability": round(float(p[b]), 4)} for b, p in zip(best, outcome.raw, strict=True)
        ]
    if outcome.kind == KEYPOINTS:
        keys = point_keys(project)
        out = []
        for item, points in zip(items, outcome.raw, strict=True):
            sx, sy = max(item.columns, 1) / ARRAY_SIDE, max(item.rows, 1) / ARRAY_SIDE
            out.append(
                {
                    "points": {
                        key: None if np.isnan(p).any() else [round(float(p[0] * sx), 2), round(float(p[1] * sy), 2)]
                        for key, p in zip(keys, points, strict=True)
                    }
                }
            )
        return out
    if outcome.kind == QUALITY:
        return [{"score": round(float(s), 4)} for s in outcome.raw]
    return [{} for _ in range(n)]


def _write_version(
    project: Project,
    *,
    learning: LearningSettings,
    digest: str,
    labels: dict,
    items: list[PoolItem],
    outcome: loop.Outcome,
    config: loop.LoopConfig,
) -> ModelVersion:
    values = _values(project, items, outcome)
    rank = {int(row): place for place, row in enumerate(outcome.order)}
    reasons = {int(row): outcome.reasons[place] for place, row in enumerate(outcome.order)}
    scored_rows = range(len(items)) if outcome.kind != COLD_START else sorted(rank)
    with transaction.atomic():
        number = (ModelVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
        version = ModelVersion.objects.create(
            project=project,
            number=number,
            kind=outcome.kind,
            digest=digest,
            strategy=outcome.strategy,
            label_count=len(labels),
            labels={str(k): v for k, v in labels.items()},
            metrics=outcome.metrics,
            settings={"params": config.params.__dict__, "passes": config.passes, "head": config.head},
            weights=outcome.weights,
            queue_size=len(outcome.order),
            train_seconds=round(outcome.train_seconds, 3),
            score_seconds=round(outcome.score_seconds, 3),
        )
        _insert_predictions(
            version,
            (
                (
                    items[row].id,
                    values[row],
                    float(outcome.uncertainty[row]),
                    None if np.isnan(outcome.diversity[row]) else float(outcome.diversity[row]),
                    rank.get(row),
                    reasons.get(row, "complete" if items[row].complete else "inactive"),
                )
                for row in scored_rows
            ),
        )
        previous = learning.serving_id
        _serve(learning, version)
    # Older queues are not read once the pointer moved; their versions (weights, metrics) stay.
    # The one before stays a moment for requests in flight. By version id: one index range each
    # (a join on the project planned as nested loops over 100,000 fresh rows: minutes).
    keep = [version.pk] if previous is None else [version.pk, previous]
    stale = list(ModelVersion.objects.filter(project=project).exclude(pk__in=keep).values_list("pk", flat=True))
    if stale:
        Prediction.objects.filter(version_id__in=stale).delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Fresh statistics for the issuer's plan over the new queue (COPY does not update them).
            cursor.execute(f"ANALYZE {Prediction._meta.db_table}")
    return version


def _insert_predictions(version: ModelVersion, rows) -> None:
    """Bulk insert: COPY on PostgreSQL (100,000 rows in seconds), batched INSERTs elsewhere."""
    if connection.vendor == "postgresql":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for item_id, value, unc, div, rank, reason in rows:
            writer.writerow(
                [
                    version.pk,
                    item_id,
                    json.dumps(value),
                    unc,
                    "" if div is None else div,
                    "" if rank is None else rank,
                    reason,
                ]
            )
        buffer.seek(0)
        table = Prediction._meta.db_table
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f"COPY {table} (version_id, item_id, value, uncertainty, diversity, rank, reason) FROM STDIN WITH (FORMAT csv)",
                buffer,
            )
        return
    Prediction.objects.bulk_create(
        (
            Prediction(
                version=version, item_id=item_id, value=value, uncertainty=unc, diversity=div, rank=rank, reason=reason
            )
            for item_id, value, unc, div, rank, reason in rows
        ),
        batch_size=2000,
    )
