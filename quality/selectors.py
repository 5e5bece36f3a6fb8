"""Reads for the quality dashboard: progress, experts, and agreement by kind.

Counts are SQL aggregates; agreement reads only the columns it needs (``values_list``, no model
instances) and is cached per project for ``CACHE_SECONDS`` (a page at 1,000,000 judgements must not
recompute it on every view)."""

from __future__ import annotations

import statistics as pystats
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from django.core.cache import cache
from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import Greatest, TruncDate
from django.utils import timezone

from annotations.models import Judgement, TaskItem
from datasets.labels import resample_curve
from media_ingest.models import ProjectItem
from projects.models import Project
from quality import reliability, statistics
from quality.gold import GoldAccuracy, gold_accuracy
from ranking.models import ConvergencePoint, RatingState

CACHE_SECONDS = 300
CONVERGENCE_POINTS = 200  # the latest refits plotted


@dataclass(frozen=True)
class Progress:
    days: list[tuple[date, int]]  # answers per day, oldest first
    answers: int
    items: int
    items_complete: int
    answers_to_go: int
    per_day_recent: float  # mean answers per day over the last 7 days
    projected_finish: date | None


@dataclass(frozen=True)
class ExpertRow:
    expert_id: int
    name: str
    answers: int
    not_sure: int
    mean_seconds: float


@dataclass
class Agreement:
    kind: str
    figures: dict[str, float | int | None] = field(default_factory=dict)
    table_header: list[str] = field(default_factory=list)
    table: list[list[object]] = field(default_factory=list)
    confusion_classes: list[str] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)
    # Ranking: (judgements, mean RD, rank stability, SSR) at each consensus refit, oldest first.
    convergence: list[tuple] = field(default_factory=list)
    # Each expert's (agreement, answers compared) for the flags (quality.reliability).
    reliability: reliability.Reliability = field(default_factory=dict)


def progress(project: Project) -> Progress:
    judgements = Judgement.objects.filter(project=project)
    days = list(
        judgements.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
        .values_list("day", "n")
    )
    items = ProjectItem.objects.filter(project=project, is_active=True)
    target = project.target_views_per_item
    totals = items.aggregate(
        n=Count("id"),
        complete=Count("id", filter=Q(judgement_count__gte=target)),
        to_go=Sum(Greatest(target - F("judgement_count"), 0)),
    )
    since = timezone.now().date() - timedelta(days=6)
    recent = sum(n for day, n in days if day >= since) / 7.0
    to_go = int(totals["to_go"] or 0)
    if project.kind == Project.Kind.RANKING:  # a batch answers batch_size items at once
        to_go = -(-to_go // max(project.batch_size, 1))
    finish = timezone.now().date() + timedelta(days=int(np.ceil(to_go / recent))) if recent > 0 and to_go else None
    return Progress(
        days=days,
        answers=sum(n for _, n in days),
        items=totals["n"],
        items_complete=totals["complete"],
        answers_to_go=to_go,
        per_day_recent=recent,
        projected_finish=finish,
    )


def experts(project: Project) -> list[ExpertRow]:
    rows = (
        Judgement.objects.filter(project=project)
        .values("expert_id", "expert__username", "expert__email")
        .annotate(n=Count("id"), unsure=Count("id", filter=Q(not_sure=True)), ms=Avg("time_on_task_ms"))
        .order_by("-n", "expert_id")
    )
    return [
        ExpertRow(
            r["expert_id"], r["expert__email"] or r["expert__username"], r["n"], r["unsure"], (r["ms"] or 0) / 1000
        )
        for r in rows
    ]


def _expert_names(project: Project) -> dict[int, str]:
    return dict(Judgement.objects.filter(project=project).values_list("expert_id", "expert__email").distinct())


def single_item_answers(project: Project):
    """(item id, expert id, answer) of single-item tasks, latest correction only, in id order."""
    superseded = set(
        Judgement.objects.filter(project=project, supersedes__isnull=False).values_list("supersedes_id", flat=True)
    )
    rows = (
        TaskItem.objects.filter(task__judgement__project=project)
        .order_by("task__judgement__id")
        .values_list("task__judgement__id", "item_id", "task__judgement__expert_id", "task__judgement__answer")
    )
    for judgement_id, item_id, expert_id, answer in rows.iterator(chunk_size=5000):
        if judgement_id not in superseded:
            yield item_id, expert_id, answer


def agreement(project: Project) -> Agreement:
    key = f"quality:agreement:{dashboard_key(project)}:{Judgement.objects.filter(project=project).order_by('-id').values_list('id', flat=True).first()}"
    found = cache.get(key)
    if found is None:
        found = {
            Project.Kind.CLASSIFICATION: _classification,
            Project.Kind.RANKING: _ranking,
            Project.Kind.KEYPOINTS: _keypoints,
            Project.Kind.TEMPORAL: _temporal,
        }[project.kind](project)
        cache.set(key, found, CACHE_SECONDS)
    return found


def _classification(project: Project) -> Agreement:
    answers = [(item, expert, answer.get("class", "")) for item, expert, answer in single_item_answers(project)]
    classes, matrix = statistics.confusion(answers)
    names = _expert_names(project)
    with_others = statistics.agreement_with_others(answers)
    table = [
        [names.get(expert, expert), compared, round(share, 3), "yes" if share < project.flag_below else ""]
        for expert, (compared, share) in sorted(with_others.items(), key=lambda kv: kv[1][1])
    ]
    return Agreement(
        kind=project.kind,
        figures={"krippendorff_alpha": statistics.classification_alpha(answers), "answers": len(answers)},
        table_header=[
            "expert",
            "answers compared",
            "agreement with the others' majority",
            f"below {project.flag_below}",
        ],
        table=table,
        confusion_classes=classes,
        confusion=matrix.tolist(),
        reliability=reliability.from_classification(with_others),
    )


def shared_batch_w(project: Project) -> tuple[float | None, int]:
    """Mean Kendall's W over the batches (same item set) that two or more experts ordered, and how
    many there were. Positions in each ordering are the ranks; ties share their mean rank."""
    by_set: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    rows = Judgement.objects.filter(project=project).values_list("task__item_set_key", "expert_id", "answer")
    for key, expert, answer in rows.iterator(chunk_size=5000):
        by_set[key].append((expert, answer))
    values = []
    for answers in by_set.values():
        experts_seen = {e for e, _ in answers}
        if len(experts_seen) < 2:
            continue
        ranks = []
        for expert, answer in answers:
            position = {item: k for k, item in enumerate(answer.get("ordering", []))}
            for group in answer.get("ties", []):
                mean = float(np.mean([position[i] for i in group if i in position])) if group else 0.0
                position.update({i: mean for i in group if i in position})
            ranks.extend((item, expert, rank) for item, rank in position.items())
        w = statistics.kendalls_w(ranks)
        if w is not None:
            values.append(w)
    return (float(np.mean(values)) if values else None), len(values)


def _ranking(project: Project) -> Agreement:
    state = RatingState.objects.filter(project=project).first()
    result = Agreement(kind=project.kind)
    w, shared = shared_batch_w(project)
    unfolded = Judgement.objects.filter(project=project, id__gt=state.last_judgement_id if state else 0).count()
    result.figures = {"kendalls_w_shared_batches": w, "shared_batches": shared, "judgements_not_yet_folded": unfolded}
    if state is None:
        return result
    points = list(
        ConvergencePoint.objects.filter(project=project)
        .order_by("-judgements", "-id")
        .values_list("judgements", "mean_rd", "rank_stability", "ssr")[:CONVERGENCE_POINTS]
    )
    result.convergence = points[::-1]
    batches = dict(
        Judgement.objects.filter(project=project)
        .values("expert_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("expert_id", "n")
    )
    result.reliability = reliability.from_ranking(state.experts or [], batches)
    result.figures.update(
        {
            "ssr": state.ssr,
            "split_half_experts": state.split_half_experts,
            "split_half_judgements": state.split_half_judgements,
            "judgements_folded": state.judgements,
            "rating_periods": state.periods,
        }
    )
    result.table_header = ["expert", "pairs", "Kendall tau", "weight in the fit", "outlier in the fit"]
    names = _expert_names(project)
    result.table = [
        [names.get(row["expert_id"], row["expert_id"]), row["pairs"], row["kendall_tau"], row["weight"], row["flagged"]]
        for row in state.experts or []
    ]
    return result


def _keypoints(project: Project) -> Agreement:
    """Per label: ICC(A,1) of x and of y over images (raters = experts; a curve by its centroid),
    and the mean distance of each expert's placement to the image's consensus (the mean of the
    experts' points; for curves the mean curve after resampling each to ``CURVE_POINTS`` points
    evenly along its length, the distance being the mean over those points), in mm where every
    clip has a pixel spacing, else in image pixels."""
    curves = {c["key"] for c in project.label_schema.get("curves", [])}
    spacing = dict(ProjectItem.objects.filter(project=project).values_list("id", "clip__pixel_spacing_x_mm"))
    shapes: dict[str, dict[tuple[int, int], dict[int, np.ndarray]]] = defaultdict(lambda: defaultdict(dict))
    for item, expert, answer in single_item_answers(project):
        frame = answer.get("frame", 0)
        for label, value in answer.get("labels", {}).items():
            placed = value.get("points") or []
            if value.get("state") == "placed" and placed:
                shape = resample_curve(placed) if label in curves else np.asarray(placed[:1], np.float64)
                shapes[label][(item, frame)][expert] = shape
    result = Agreement(
        kind=project.kind,
        table_header=["label", "type", "images", "ICC(A,1) x", "ICC(A,1) y", "mean distance to consensus"],
    )
    in_mm = all(spacing.get(item) is not None for by_image in shapes.values() for item, _ in by_image)
    for label in sorted(shapes):
        images = shapes[label]
        centres = [(image, expert, shape.mean(axis=0)) for image, by in images.items() for expert, shape in by.items()]
        icc_x = statistics.icc([(image, expert, c[0]) for image, expert, c in centres])
        icc_y = statistics.icc([(image, expert, c[1]) for image, expert, c in centres])
        distances = []
        for (item, _frame), by in images.items():
            if len(by) < 2:
                continue
            consensus = np.mean(list(by.values()), axis=0)
            scale = spacing[item] if in_mm else 1.0
            distances.extend(float(np.hypot(*(shape - consensus).T).mean()) * scale for shape in by.values())
        result.table.append(
            [
                label,
                "curve" if label in curves else "point",
                len(images),
                None if icc_x is None else icc_x.single_absolute,
                None if icc_y is None else icc_y.single_absolute,
                f"{pystats.fmean(distances):.2f} {'mm' if in_mm else 'px'}" if distances else None,
            ]
        )
    result.reliability = reliability.from_keypoints(shapes)
    return result


def _temporal(project: Project) -> Agreement:
    """Per expert and event: mean absolute frame difference from the other experts' median frame
    for the same clip, event and beat, and the signed bias (positive: later)."""
    marks: dict[tuple[int, str, int], dict[int, int]] = defaultdict(dict)
    for item, expert, answer in single_item_answers(project):
        for mark in answer.get("events", []):
            marks[(item, mark["key"], mark["beat"])][expert] = mark["frame"]
    result = Agreement(
        kind=project.kind,
        table_header=["expert", "event", "marks compared", "mean |frame difference|", "signed bias"],
        reliability=reliability.from_temporal(marks),
    )
    diffs: dict[tuple[int, str], list[int]] = defaultdict(list)
    for (_item, event, _beat), by in marks.items():
        for expert, frame in by.items():
            others = [f for e, f in by.items() if e != expert]
            if others:
                diffs[(expert, event)].append(frame - pystats.median(others))
    names = _expert_names(project)
    for (expert, event), values in sorted(diffs.items(), key=lambda kv: (str(names.get(kv[0][0])), kv[0][1])):
        result.table.append(
            [
                names.get(expert, expert),
                event.upper(),
                len(values),
                round(pystats.fmean(abs(v) for v in values), 2),
                round(pystats.fmean(values), 2),
            ]
        )
    return result


@dataclass(frozen=True)
class Dashboard:
    progress: Progress
    experts: list[ExpertRow]
    agreement: Agreement
    computed_at: object  # an aware datetime
    gold: GoldAccuracy | None = None  # None: the project has no gold items (quality/gold.py)


DASHBOARD_TTL = 15 * 60  # seconds a computed dashboard may be shown; the worker refreshes every minute


def dashboard_key(project: Project) -> str:
    """Per project instance (its creation time too: a database rebuilt under the same cache, as in
    development and tests, must not read another project's figures)."""
    return f"quality:dashboard:{project.pk}:{project.created_at.timestamp()}"


def compute_dashboard(project: Project) -> Dashboard:
    return Dashboard(
        progress=progress(project),
        experts=experts(project),
        agreement=agreement(project),
        computed_at=timezone.now(),
        gold=gold_accuracy(project),
    )


def cached_dashboard(project: Project) -> Dashboard | None:
    return cache.get(dashboard_key(project))


def active_project_ids(*, within: timedelta = timedelta(days=1)) -> list[int]:
    """Projects with answers in the last ``within``: the ones whose dashboards move."""
    since = timezone.now() - within
    return list(
        Judgement.objects.filter(created_at__gte=since).order_by().values_list("project_id", flat=True).distinct()
    )
