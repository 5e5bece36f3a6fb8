"""What an item's review page draws, per kind: server-rendered SVG geometry, tables, and the
consensus answer the adjudication form starts from. Shaping only (the figures are
``quality.review.figures``; the reads ``quality.review.selectors``)."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from annotations.answers import NONE_OF_THE_ABOVE, NOT_SURE
from datasets.labels import majority_class
from projects.models import Project
from quality.review import figures
from quality.review.selectors import (
    ExpertAnswer,
    ItemReview,
    clips_of,
    current_rating,
    frame_data_uri,
)

TIMELINE_WIDTH, ROW_HEIGHT, TIMELINE_PAD = 720, 26, 40


# --- keypoints ----------------------------------------------------------------------------------
@dataclass
class KeypointExpert:
    name: str
    colour: str
    frame: int
    points: list[dict[str, Any]] = field(default_factory=list)  # {label, name, x, y}
    curves: list[dict[str, Any]] = field(default_factory=list)  # {label, name, points "x,y x,y"}
    states: list[tuple[str, str]] = field(default_factory=list)  # (label name, state)


def keypoints_panel(review: ItemReview) -> dict[str, Any]:
    clip, schema = review.item.clip, review.project.label_schema
    names = {e["key"]: e["name"] for e in [*schema.get("points", []), *schema.get("curves", [])]}
    point_keys = [p["key"] for p in schema.get("points", [])]
    answers = [a.answer for a in review.answers]
    frames = Counter(int(a.get("frame", 0)) for a in answers)
    frame = min(frames, key=lambda f: (-frames[f], f)) if frames else (review.item.frame_index or 0)
    experts = []
    for answer in review.answers:
        shown = KeypointExpert(answer.name, answer.colour, int(answer.answer.get("frame", 0)))
        for key, entry in (answer.answer.get("labels") or {}).items():
            shown.states.append((names.get(key, key), entry.get("state", "")))
            points = entry.get("points") or []
            if entry.get("state") != "placed" or not points:
                continue
            if key in point_keys:
                shown.points.append({"label": key, "name": names.get(key, key), "x": points[0][0], "y": points[0][1]})
            else:
                line = " ".join(f"{x},{y}" for x, y in points)
                shown.curves.append({"label": key, "name": names.get(key, key), "points": line})
        experts.append(shown)
    consensus = figures.keypoint_consensus(answers)
    distances = figures.keypoint_distances(answers)
    spacing = clip.pixel_spacing_x_mm
    rows = []
    for key in [*point_keys, *(c["key"] for c in schema.get("curves", []))]:
        states = Counter((a.get("labels") or {}).get(key, {}).get("state", "") for a in answers)
        mean = distances.get(key)
        px = sum(mean) / len(mean) if mean else None
        rows.append(
            {
                "name": names.get(key, key),
                "placed": states["placed"],
                "off": states["off"],
                "blurred": states["blurred"],
                "px": px,
                "mm": px * spacing if px is not None and spacing else None,
            }
        )
    size = max(clip.columns, clip.rows, 1)
    return {
        "width": clip.columns,
        "height": clip.rows,
        "frame": frame,
        "other_frames": sorted(f for f in frames if f != frame),
        "image": frame_data_uri(clip, frame),
        "experts": experts,
        "consensus": [
            {
                "label": key,
                "name": names.get(key, key),
                "x": round(xy[0], 2),
                "y": round(xy[1], 2),
                "d": _cross(xy[0], xy[1], size / 45),
            }
            for key, xy in consensus.items()
            if key in point_keys
        ],
        "radius": round(size / 90, 2),
        "stroke": round(size / 320, 2),
        "labels": rows,
        "score": figures.keypoint_disagreement(answers),
    }


def _cross(x: float, y: float, arm: float) -> str:
    """An SVG path: a cross of arms ``arm`` long centred on (x, y)."""
    return f"M{x - arm:.2f},{y:.2f}H{x + arm:.2f}M{x:.2f},{y - arm:.2f}V{y + arm:.2f}"


def keypoints_prefill(review: ItemReview, panel: dict[str, Any]) -> dict[str, Any] | None:
    """The latest answer, its frame the most common one, each placed point moved to the mean."""
    if not review.answers:
        return None
    base = json.loads(json.dumps(review.answers[-1].answer))
    base["frame"] = panel["frame"]
    means = {c["label"]: [c["x"], c["y"]] for c in panel["consensus"]}
    for key, entry in base.get("labels", {}).items():
        if key in means and entry.get("state") == "placed":
            entry["points"] = [means[key]]
    return base


# --- classification -----------------------------------------------------------------------------
def classification_panel(review: ItemReview) -> dict[str, Any]:
    schema = review.project.label_schema
    names = {c["key"]: c["name"] for c in schema.get("classes", [])}
    names.update({NONE_OF_THE_ABOVE: "None of the above", NOT_SURE: "Not sure"})
    chosen = [str(a.answer.get("class", "")) for a in review.answers]
    counts = figures.class_counts(chosen)
    majority = majority_class(chosen)[0]  # the release's rule (datasets.labels): the same majority
    keys = [c["key"] for c in schema.get("classes", [])] + [NONE_OF_THE_ABOVE, NOT_SURE]
    keys += sorted(k for k in counts if k not in keys)
    top = max(counts.values(), default=0) or 1
    return {
        "names": names,
        "counts": [
            {"key": k, "name": names.get(k, k), "n": counts.get(k, 0), "share": round(100 * counts.get(k, 0) / top)}
            for k in keys
        ],
        "majority": majority,
        "majority_name": names.get(majority, majority),
        "agreement": 1.0 - figures.classification_disagreement(chosen) if chosen else None,
        "chosen": [(a, names.get(str(a.answer.get("class", "")), a.answer.get("class", ""))) for a in review.answers],
    }


# --- temporal -----------------------------------------------------------------------------------
def temporal_panel(review: ItemReview) -> dict[str, Any]:
    clip, schema = review.item.clip, review.project.label_schema
    last = max(clip.frame_count - 1, 1)
    span = TIMELINE_WIDTH - 2 * TIMELINE_PAD
    names = {e["key"]: e["name"] for e in schema.get("events", [])}

    def x(frame: float) -> float:
        return round(TIMELINE_PAD + span * frame / last, 2)

    answers = [a.answer for a in review.answers]
    marks = figures.temporal_marks(answers)
    consensus = figures.temporal_consensus(answers)
    beats = sorted({beat for beat, _ in marks})
    ticks = [{"x": x(f), "frame": f} for f in sorted({0, last // 4, last // 2, 3 * last // 4, last})]
    timelines = []
    for beat in beats:
        rows = []
        for k, answer in enumerate(review.answers):
            y = 20 + k * ROW_HEIGHT
            shown = [
                {"x": x(m["frame"]), "frame": m["frame"], "key": m["key"].upper()}
                for m in answer.answer.get("events", [])
                if int(m["beat"]) == beat
            ]
            rows.append({"name": answer.name, "colour": answer.colour, "y": y, "marks": shown})
        y = 20 + len(review.answers) * ROW_HEIGHT
        medians = [
            {"x": x(value), "frame": value, "key": key.upper(), "y": y}
            for (b, key), value in sorted(consensus.items())
            if b == beat
        ]
        table = [
            {
                "key": names.get(key, key.upper()),
                "frames": sorted(frames),
                "median": consensus[(b, key)],
                "range": max(frames) - min(frames),
            }
            for (b, key), frames in sorted(marks.items())
            if b == beat
        ]
        timelines.append(
            {
                "beat": beat,
                "rows": rows,
                "consensus": medians,
                "consensus_y": y,
                "height": y + 30,
                "table": table,
            }
        )
    return {
        "width": TIMELINE_WIDTH,
        "pad": TIMELINE_PAD,
        "axis_end": TIMELINE_WIDTH - TIMELINE_PAD,
        "ticks": ticks,
        "timelines": timelines,
        "frame_count": clip.frame_count,
        "score": figures.temporal_disagreement(answers),
    }


def temporal_prefill(review: ItemReview) -> dict[str, Any] | None:
    consensus = figures.temporal_consensus(a.answer for a in review.answers)
    if not consensus:
        return None
    events = [{"key": key, "frame": round(value), "beat": beat} for (beat, key), value in sorted(consensus.items())]
    return {"events": events}


# --- ranking ------------------------------------------------------------------------------------
def ranking_panel(review: ItemReview) -> dict[str, Any]:
    item_id = review.item.pk
    orderings = [list(a.answer.get("ordering", [])) for a in review.answers]
    shown = clips_of(sorted({i for ordering in orderings for i in ordering}))
    batches: dict[str, list[dict[str, Any]]] = {}
    for answer in sorted(review.answers, key=lambda a: -a.judgement_id):
        ordering = list(answer.answer.get("ordering", []))
        tied = {i for group in answer.answer.get("ties", []) for i in group}
        batches.setdefault(answer.item_set_key, []).append(
            {
                "answer": answer,
                "items": [
                    {"clip": shown.get(i), "id": i, "me": i == item_id, "tied": i in tied, "place": n + 1}
                    for n, i in enumerate(ordering)
                ],
            }
        )
    places = figures.ranking_places(orderings, item_id)
    return {
        "batches": list(batches.values()),
        "rating": current_rating(review.item),
        "places": [round(p, 3) for p in places],
        "mean_place": round(statistics.fmean(places), 3) if places else None,
        "spread": figures.ranking_disagreement(places),
    }


def ranking_prefill(review: ItemReview) -> dict[str, Any] | None:
    if not review.answers:
        return None
    latest = max(review.answers, key=lambda a: a.judgement_id).answer
    return {"ordering": latest.get("ordering", []), "ties": latest.get("ties", [])}


# --- the page -----------------------------------------------------------------------------------
def item_panel(review: ItemReview) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(what the kind's panel draws, the consensus answer the form starts from)."""
    kind = review.project.kind
    if kind == Project.Kind.KEYPOINTS:
        panel = keypoints_panel(review)
        return panel, keypoints_prefill(review, panel)
    if kind == Project.Kind.CLASSIFICATION:
        panel = classification_panel(review)
        return panel, ({"class": panel["majority"]} if panel["majority"] else None)
    if kind == Project.Kind.TEMPORAL:
        return temporal_panel(review), temporal_prefill(review)
    return ranking_panel(review), ranking_prefill(review)


def answer_summary(kind: str, answer: ExpertAnswer) -> str:
    """One line per answer for the answers table."""
    body = answer.answer
    if kind == Project.Kind.CLASSIFICATION:
        return str(body.get("class", ""))
    if kind == Project.Kind.KEYPOINTS:
        labels = body.get("labels") or {}
        states = Counter(entry.get("state", "") for entry in labels.values())
        parts = [f"{n} {state}" for state, n in sorted(states.items())]
        return f"frame {body.get('frame', 0)}: " + ", ".join(parts)
    if kind == Project.Kind.TEMPORAL:
        return ", ".join(f"{m['key'].upper()}{m['beat']} @ {m['frame']}" for m in body.get("events", []))
    return f"{len(body.get('ordering', []))} items ordered, {len(body.get('ties', []))} tie group(s)"
