"""Writing a release archive: frames, labels, metadata, splits, card, loader, manifest (README).

Frames are copied byte for byte from each clip's lossless master (nothing is decoded or encoded);
labels are streamed from the database through the freeze watermarks. Everything is written in a
fixed order with the release's own pseudonyms and freeze time, so a rebuild gives the same bytes.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from itertools import groupby
from pathlib import Path
from typing import IO

import numpy as np
from django.core.files.storage import default_storage

from datasets import card
from datasets.archive import ReleaseArchive
from datasets.labels import majority_class, mean_label
from datasets.models import Release
from datasets.selectors import (
    Answer,
    Expert,
    ReleaseItem,
    answers_by_item,
    answers_in_order,
    most_experts_per_item,
    release_decisions,
    release_experts,
    release_items,
    release_reviewers,
)
from datasets.splits import SplitClip, assign_splits, keyed_order
from media_ingest.selectors import lossless_frames
from projects.models import Project
from ranking.services import snapshot_ratings

LOADER = Path(__file__).with_name("loader_example.py")
PROGRESS_EVERY = 200
EXTERNAL = "02"


def frame_path(prefix: str, code: str, frame: int) -> str:
    """``01/ab/cd/01-abcd...-0012.png``: the biobank's layout."""
    return f"{prefix}/{code[:2]}/{code[2:4]}/{prefix}-{code}-{frame:04d}.png"


def video_path(prefix: str, code: str) -> str:
    return f"{prefix}/{code[:2]}/{code[2:4]}/{prefix}-{code}.mp4"


@dataclass(slots=True)
class ClipEntry:
    """One clip as the release ships it: the frames it needs and the split it falls in."""

    item: ReleaseItem  # any item of the clip (the clip's facts are the same)
    frames: set[int] | None = None  # the frame items' frames (None: none yet)
    whole: bool = False
    split: str = ""
    study: str = ""

    @property
    def shipped_frames(self) -> list[int]:
        return list(range(self.item.frame_count)) if self.whole else sorted(self.frames or ())

    def add_frame(self, frame: int) -> None:
        if self.frames is None:
            self.frames = set()
        self.frames.add(frame)


@dataclass
class Stats:
    """What the build saw, for the card and ``Release.summary``."""

    answers: int = 0
    not_sure: int = 0
    per_expert: Counter = field(default_factory=Counter)
    time_ms: Counter = field(default_factory=Counter)
    agreement: dict = field(default_factory=dict)
    decisions: Counter = field(default_factory=Counter)  # reviewers' decisions by kind (adjudications.json)


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f}"


def _when(answer: Answer) -> str:
    return answer.created_at.isoformat(timespec="seconds")


def _csv(handle: IO[str]) -> csv.writer:  # type: ignore[valid-type]
    return csv.writer(handle, lineterminator="\n")


class ReleaseBuilder:
    def __init__(self, release: Release, *, progress: Callable[[int, int], None] | None = None) -> None:
        self.release = release
        self.project: Project = release.project
        self.progress = progress or (lambda done, total: None)
        self.items = release_items(release)
        self.by_id = {item.item_id: item for item in self.items}
        self.experts: dict[int, Expert] = release_experts(release)
        # Experts whose answers are published but stay out of consensus (flagged or excluded when
        # the release was frozen: Release.consensus_decisions).
        self.left_out: set[int] = set(release.consensus_decisions.get("left_out", []))
        self.stats = Stats()
        self.clips = self._clips()
        self._phases: tuple[list[str], list] | None = None

    # --- what ships ----------------------------------------------------------------------------

    def _clips(self) -> dict[tuple[str, str], ClipEntry]:
        clips: dict[tuple[str, str], ClipEntry] = {}
        for item in self.items:
            entry = clips.setdefault((item.prefix, item.code), ClipEntry(item=item))
            if item.frame_index is None:
                entry.whole = True
            else:
                entry.add_frame(item.frame_index)
        return dict(sorted(clips.items()))

    def _study_pseudonyms(self) -> dict[str, str]:
        keys = sorted({e.item.study_key for e in self.clips.values() if e.item.study_key})
        ordered = sorted(keys, key=lambda k: keyed_order(self.release.salt, f"study:{k}"))
        return {key: f"S{n:05d}" for n, key in enumerate(ordered, start=1)}

    def _assign_splits(self, strata: dict[str, str]) -> None:
        studies = self._study_pseudonyms()
        for entry in self.clips.values():
            entry.study = studies.get(entry.item.study_key, "")
        development = [
            SplitClip(code=e.item.clip_name, study=e.study, stratum=strata.get(e.item.clip_name, ""))
            for e in self.clips.values()
            if e.item.prefix != EXTERNAL
        ]
        splits = assign_splits(development, salt=self.release.salt, fractions=self.release.fractions)
        for entry in self.clips.values():
            entry.split = "external_validation" if entry.item.prefix == EXTERNAL else splits[entry.item.clip_name]

    # --- the build -----------------------------------------------------------------------------

    def build(self, path: Path) -> dict:
        """Write the archive to ``path``; returns the summary."""
        frames = self.release.include_frames
        total = (sum(len(e.shipped_frames) for e in self.clips.values()) if frames else 0) + 1
        done = 0
        with tempfile.TemporaryDirectory(prefix="release-") as scratch:
            with ReleaseArchive(path, root=self.release.name, date_time=self._frozen()) as archive:
                # Labels first (they decide the strata of the split), into the archive as they stream.
                strata = self._write_labels(archive, Path(scratch))
                self._write_decisions(archive)
                self._assign_splits(strata)
                self._write_phases(archive)
                self._write_metadata(archive)
                for entry in self.clips.values() if frames else ():
                    done = self._write_frames(archive, entry, done, total)
                summary = self._summary()
                archive.add_bytes("README.md", card.dataset_card(self.release, summary).encode(), compress=True)
                archive.add_bytes("LICENSE.txt", card.licence_text(self.release).encode(), compress=True)
                archive.add_bytes("loader.py", LOADER.read_bytes(), compress=True)
                archive.add_bytes(
                    "croissant.json",
                    card.croissant(self.release, summary, archive.sums).encode(),
                    compress=True,
                )
        self.progress(total, total)
        return summary

    def _frozen(self):
        return self.release.frozen_at.astimezone(UTC).replace(tzinfo=None)

    def _write_frames(self, archive: ReleaseArchive, entry: ClipEntry, done: int, total: int) -> int:
        item = entry.item
        for index, data in lossless_frames(item, entry.shipped_frames):
            archive.add_bytes(frame_path(item.prefix, item.code, index), data)
            done += 1
            if done % PROGRESS_EVERY == 0:
                self.progress(done, total)
        if self.release.include_video and item.video_name:
            with default_storage.open(item.video_name, "rb") as source:
                archive.add_stream(video_path(item.prefix, item.code), source)
        return done

    def _write_metadata(self, archive: ReleaseArchive) -> None:
        with archive.open_text("metadata/clips.csv") as handle:
            out = _csv(handle)
            out.writerow(
                ["FileName", "Split", "Study", "NumberOfFrames", "FrameRate", "Width", "Height", "FramesShipped"]
            )
            for e in self.clips.values():
                item = e.item
                out.writerow(
                    [
                        item.clip_name,
                        e.split,
                        e.study,
                        item.frame_count,
                        repr(float(item.frame_rate)),
                        item.width,
                        item.height,
                        "all" if e.whole else " ".join(str(f) for f in e.shipped_frames),
                    ]
                )
        with archive.open_text("metadata/spacing.csv") as handle:
            out = _csv(handle)
            out.writerow(["FileHash", "PhysicalDeltaX", "PhysicalDeltaY"])  # cm per pixel
            for e in self.clips.values():
                x, y = e.item.spacing_x_mm, e.item.spacing_y_mm
                out.writerow(
                    [e.item.clip_name, "" if x is None else repr(x / 10.0), "" if y is None else repr(y / 10.0)]
                )
        splits: dict[str, list[str]] = defaultdict(list)
        for e in self.clips.values():
            splits[e.split].append(e.item.clip_name)
        order = ["train", "validation", "test", "external_validation"]
        payload = {name: splits.get(name, []) for name in order if name in splits or name != "external_validation"}
        archive.add_bytes("splits/data_split.json", _json(payload), compress=True)

    def _write_experts(self, archive: ReleaseArchive, extra: dict[str, dict] | None = None) -> None:
        columns = ["expert", "profession", "answers", "time_on_task_h", "in_consensus"]
        extra = extra or {}
        extra_columns = sorted({k for row in extra.values() for k in row})
        with archive.open_text("labels/experts.csv") as handle:
            out = _csv(handle)
            out.writerow(columns + extra_columns)
            for user_id, expert in sorted(self.experts.items(), key=lambda kv: kv[1].pseudonym):
                row = [
                    expert.pseudonym,
                    expert.profession,
                    self.stats.per_expert[user_id],
                    f"{self.stats.time_ms[user_id] / 3_600_000:.3f}",
                    int(user_id not in self.left_out),
                ]
                out.writerow(row + [extra.get(expert.pseudonym, {}).get(k, "") for k in extra_columns])

    def _count(self, answer: Answer) -> None:
        self.stats.answers += 1
        self.stats.not_sure += bool(answer.not_sure)
        self.stats.per_expert[answer.expert_id] += 1
        self.stats.time_ms[answer.expert_id] += answer.time_on_task_ms

    def _grouped(self) -> Iterator[tuple[ReleaseItem, list[Answer]]]:
        for item_id, group in groupby(answers_by_item(self.release), key=lambda a: a.item_id):
            item = self.by_id.get(item_id)  # type: ignore[arg-type]
            if item is None:
                continue
            answers = list(group)
            for answer in answers:
                self._count(answer)
            yield item, answers

    def _write_labels(self, archive: ReleaseArchive, scratch: Path) -> dict[str, str]:
        kind = self.project.kind
        writer = {
            Project.Kind.CLASSIFICATION: self._classification,
            Project.Kind.RANKING: self._ranking,
            Project.Kind.KEYPOINTS: self._keypoints,
            Project.Kind.TEMPORAL: self._temporal,
        }[kind]
        return writer(archive, scratch)

    # --- per kind -------------------------------------------------------------------------------

    def _classification(self, archive: ReleaseArchive, scratch: Path) -> dict[str, str]:
        classes = self.project.label_schema.get("classes", [])
        lookup = {c["key"]: c["name"] for c in classes}
        archive.add_bytes("labels/class_lookup.json", _json(lookup), compress=True)
        strata: dict[str, str] = {}
        votes = agreed = 0
        with archive.open_text("labels/answers.csv") as a_handle, archive.open_text("labels/consensus.csv") as c_handle:
            answers_out, consensus_out = _csv(a_handle), _csv(c_handle)
            answers_out.writerow(["image", "expert", "class", "not_sure", "time_on_task_s", "answered_at"])
            consensus_out.writerow(["image", "class", "votes", "answers", "agreement", "not_sure"])
            for item, answers in self._grouped():
                chosen = [a.answer.get("class", "") for a in answers]
                for answer, value in zip(answers, chosen, strict=True):
                    answers_out.writerow(
                        [
                            item.image_name(),
                            self.experts[answer.expert_id].pseudonym,
                            value,
                            int(answer.not_sure or value == "not_sure"),
                            _seconds(answer.time_on_task_ms),
                            _when(answer),
                        ]
                    )
                best, count, counted, agreement = majority_class(
                    v for a, v in zip(answers, chosen, strict=True) if a.expert_id not in self.left_out
                )
                unsure = sum(1 for a, v in zip(answers, chosen, strict=True) if a.not_sure or v == "not_sure")
                consensus_out.writerow([item.image_name(), best, count, counted, f"{agreement:.4f}", unsure])
                votes += counted
                agreed += count
                if best:
                    strata[item.clip_name] = best
        self.stats.agreement = {"mean_agreement_with_majority": round(agreed / votes, 4) if votes else None}
        self._write_experts(archive)
        return strata

    def _ranking(self, archive: ReleaseArchive, scratch: Path) -> dict[str, str]:
        names = {item.item_id: item.image_name() for item in self.items}
        with archive.open_text("labels/answers.csv") as handle:
            out = _csv(handle)
            out.writerow(["answer", "expert", "ordering", "ties", "time_on_task_s", "answered_at"])
            for n, answer in enumerate(answers_in_order(self.release), start=1):
                self._count(answer)
                ordering = [names[i] for i in answer.answer.get("ordering", []) if i in names]
                ties = [" ".join(names[i] for i in group if i in names) for group in answer.answer.get("ties", [])]
                out.writerow(
                    [
                        n,
                        self.experts[answer.expert_id].pseudonym,
                        " ".join(ordering),
                        ";".join(ties),
                        _seconds(answer.time_on_task_ms),
                        _when(answer),
                    ]
                )
        snapshot = snapshot_ratings(
            self.project,
            up_to_id=self.release.last_judgement_id,
            item_ids=[i.item_id for i in self.items],
            decisions=self.release.consensus_decisions,
        )
        columns = snapshot.consensus
        with archive.open_text("labels/ratings.csv") as handle:
            out = _csv(handle)
            out.writerow(
                ["image", "rating", "rd", "volatility", "views", "bt_score", "bt_se", "rank", "rank_low", "rank_high"]
            )
            for k, item_id in enumerate(snapshot.item_ids.tolist()):
                consensus = (
                    [_num(columns[c][k]) for c in ("score", "score_se")]
                    + [_whole(columns[c][k]) for c in ("rank", "rank_low", "rank_high")]
                    if columns
                    else ["", "", "", "", ""]
                )
                out.writerow(
                    [
                        names[item_id],
                        _num(snapshot.rating[k]),
                        _num(snapshot.rd[k]),
                        _num(snapshot.volatility[k]),
                        int(snapshot.views[k]),
                        *consensus,
                    ]
                )
        extra: dict[str, dict] = {}
        reliability = snapshot.reliability
        if reliability is not None:
            for row in reliability.experts:
                expert = self.experts.get(row["expert_id"])
                if expert is not None:
                    extra[expert.pseudonym] = {"kendall_tau": row["kendall_tau"], "weight": row["weight"]}
            self.stats.agreement = {
                "ssr": round(reliability.ssr, 4),
                "split_half_experts": _rounded(reliability.split_half_experts),
                "split_half_judgements": _rounded(reliability.split_half_judgements),
                "rating_periods": snapshot.periods,
            }
        self._write_experts(archive, extra)
        return {}

    def _keypoints(self, archive: ReleaseArchive, scratch: Path) -> dict[str, str]:
        schema = self.project.label_schema
        kinds = {p["key"]: "point" for p in schema.get("points", [])}
        kinds.update({c["key"]: "curve" for c in schema.get("curves", [])})
        point_keys = [p["key"] for p in schema.get("points", [])]
        coco_images = (scratch / "coco-images.json").open("w+", encoding="utf-8")
        coco_annotations = (scratch / "coco-annotations.json").open("w+", encoding="utf-8")
        image_id = 0
        with (
            archive.open_text("labels/answers.csv") as a_handle,
            archive.open_text("labels/keypoints_experts.json") as e_handle,
            archive.open_text("labels/keypoints_consensus.json") as c_handle,
        ):
            answers_out = _csv(a_handle)
            answers_out.writerow(
                ["image", "expert", "label", "type", "state", "value_x", "value_y", "time_on_task_s", "answered_at"]
            )
            experts_json, consensus_json = _JsonObject(e_handle), _JsonObject(c_handle)
            for item, answers in self._grouped():
                by_frame: dict[int, list[Answer]] = defaultdict(list)
                for answer in answers:
                    frame = item.frame_index if item.frame_index is not None else answer.answer.get("frame", 0)
                    by_frame[int(frame)].append(answer)
                    if item.frame_index is None:
                        self.clips[(item.prefix, item.code)].add_frame(int(frame))
                for frame in sorted(by_frame):
                    image = item.image_name(frame)
                    per_expert, consensus = self._keypoint_image(image, by_frame[frame], kinds, answers_out)
                    experts_json.add(image, per_expert)
                    consensus_json.add(image, {"labels": consensus})
                    image_id += 1
                    _coco_image(coco_images, image_id, item, frame)
                    _coco_annotation(coco_annotations, image_id, consensus, point_keys)
            experts_json.close()
            consensus_json.close()
        with archive.open_text("labels/coco_keypoints.json") as handle:
            handle.write('{"info":')
            handle.write(json.dumps({"description": self.release.title, "version": str(self.release.version)}))
            handle.write(',"licenses":')
            handle.write(json.dumps([{"id": 1, "name": self.release.get_licence_display()}]))
            handle.write(',"categories":')
            category = {"id": 1, "name": self.project.slug, "keypoints": point_keys, "skeleton": []}
            handle.write(json.dumps([category]))
            for name, part in (("images", coco_images), ("annotations", coco_annotations)):
                handle.write(f',"{name}":[')
                part.seek(0)
                first = True
                for line in part:
                    if not first:
                        handle.write(",")
                    handle.write(line.rstrip("\n"))
                    first = False
                handle.write("]")
                part.close()
            handle.write("}\n")
        self._write_experts(archive)
        return {}

    def _keypoint_image(
        self, image: str, answers: list[Answer], kinds: dict[str, str], answers_out
    ) -> tuple[dict[str, dict], dict[str, dict]]:
        """One image's answers: rows into answers.csv; returns (per expert, consensus)."""
        per_expert: dict[str, dict] = {}
        left_out = {self.experts[e].pseudonym for e in self.left_out if e in self.experts}
        for answer in answers:
            expert = self.experts[answer.expert_id].pseudonym
            labels = answer.answer.get("labels", {})
            entry = {}
            for key in sorted(labels):
                value = labels[key]
                xs = [p[0] for p in value.get("points", [])]
                ys = [p[1] for p in value.get("points", [])]
                kind = kinds.get(key, "point")
                entry[key] = {"type": kind, "state": value.get("state"), "x": xs, "y": ys}
                answers_out.writerow(
                    [
                        image,
                        expert,
                        key,
                        kind,
                        value.get("state"),
                        " ".join(repr(float(v)) for v in xs),
                        " ".join(repr(float(v)) for v in ys),
                        _seconds(answer.time_on_task_ms),
                        _when(answer),
                    ]
                )
            per_expert[expert] = entry  # one entry per expert and image: a later answer wins
        consensus = {
            key: mean_label(
                kind,
                [
                    {"state": e[key]["state"], "points": list(zip(e[key]["x"], e[key]["y"], strict=True))}
                    for name, e in per_expert.items()
                    if key in e and name not in left_out
                ],
            )
            for key, kind in kinds.items()
        }
        return per_expert, consensus

    def _temporal(self, archive: ReleaseArchive, scratch: Path) -> dict[str, str]:
        schema = self.project.label_schema
        events = [e["key"] for e in schema.get("events", [])]
        beats = int(schema.get("max_beats", 5))
        operators = most_experts_per_item(self.release)
        with archive.open_text("labels/answers.csv") as a_handle:
            answers_out = _csv(a_handle)
            answers_out.writerow(["clip", "expert", "event", "beat", "frame", "time_on_task_s", "answered_at"])
            header = ["FileName", "NumberOfFrames", "Split"]
            for k in range(1, operators + 1):
                header.append(f"Op{k}")
                header.extend(f"Op{k}_{event.upper()}{b}" for event in events for b in range(1, beats + 1))
            rows: list[tuple[ReleaseItem, list]] = []
            for item, answers in self._grouped():
                latest: dict[str, dict] = {}
                for answer in answers:
                    expert = self.experts[answer.expert_id].pseudonym
                    marks = {(m["key"], m["beat"]): m["frame"] for m in answer.answer.get("events", [])}
                    for (key, beat), frame in sorted(marks.items(), key=lambda kv: (kv[0][1], kv[1], kv[0][0])):
                        answers_out.writerow(
                            [
                                item.image_name(),
                                expert,
                                key,
                                beat,
                                frame,
                                _seconds(answer.time_on_task_ms),
                                _when(answer),
                            ]
                        )
                    latest[expert] = marks
                row: list = []
                for expert in sorted(latest):
                    row.append(expert)
                    row.extend(latest[expert].get((event, b), "") for event in events for b in range(1, beats + 1))
                rows.append((item, row))
            # The split is known only once every label is read: the table's rows wait in memory
            # (one short row per clip) and are written by _write_phases.
            self._phases = (header, rows)
        self._write_experts(archive)
        return {}

    def _write_decisions(self, archive: ReleaseArchive) -> None:
        """``labels/adjudications.json``: each item's latest reviewer decision up to the freeze, kept
        apart from the experts' answers (never in answers.csv, the consensus or the agreement).
        Item ids inside an answer (ranking) become image names."""
        decisions = [d for d in release_decisions(self.release) if d.item_id in self.by_id]
        reviewers = release_reviewers(self.release, {d.reviewer_id for d in decisions})
        entries = []
        for decision in decisions:
            item = self.by_id[decision.item_id]
            answer = decision.answer
            if answer is not None and self.project.kind == Project.Kind.RANKING:
                names = {i: self.by_id[i].image_name() for i in answer["ordering"] if i in self.by_id}
                answer = {
                    "ordering": [names[i] for i in answer["ordering"] if i in names],
                    "ties": [[names[i] for i in group if i in names] for group in answer.get("ties", [])],
                }
            entries.append(
                {
                    "item": item.image_name(),
                    "decision": decision.decision,
                    "answer": answer,
                    "note": decision.note,
                    "reviewer": reviewers[decision.reviewer_id],
                    "decided_at": decision.created_at.isoformat(timespec="seconds"),
                }
            )
            self.stats.decisions[decision.decision] += 1
        archive.add_bytes("labels/adjudications.json", _json(entries), compress=True)

    def _write_phases(self, archive: ReleaseArchive) -> None:
        if self._phases is None:
            return
        header, rows = self._phases
        with archive.open_text("labels/phases.csv") as handle:
            out = _csv(handle)
            out.writerow(header)
            for item, row in rows:
                split = self.clips[(item.prefix, item.code)].split
                out.writerow([item.image_name(), item.frame_count, split, *row])

    def _summary(self) -> dict:
        splits = Counter(e.split for e in self.clips.values())
        professions = Counter(e.profession for e in self.experts.values())
        return {
            "kind": self.project.kind,
            "clips": len(self.clips),
            "items": len(self.items),
            "frames": sum(len(e.shipped_frames) for e in self.clips.values()) if self.release.include_frames else 0,
            "studies": len({e.study or e.item.clip_name for e in self.clips.values()}),
            "answers": self.stats.answers,
            "not_sure": self.stats.not_sure,
            "experts": len(self.experts),
            "experts_by_profession": dict(sorted(professions.items())),
            "splits": dict(sorted(splits.items())),
            "agreement": self.stats.agreement,
            "adjudications": {
                "items": sum(self.stats.decisions.values()),
                "accepted": self.stats.decisions["accepted"],
                "adjudicated": self.stats.decisions["adjudicated"],
            },
            "last_judgement_id": self.release.last_judgement_id,
        }


class _JsonObject:
    """Writes ``{"key": value, ...}`` one member at a time (keys in the order given)."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.first = True
        handle.write("{")

    def add(self, key: str, value: object) -> None:
        self.handle.write(("" if self.first else ",\n") + json.dumps(key) + ":" + json.dumps(value, sort_keys=True))
        self.first = False

    def close(self) -> None:
        self.handle.write("}\n")


def _coco_image(handle: IO[str], image_id: int, item: ReleaseItem, frame: int) -> None:
    record = {
        "id": image_id,
        "file_name": frame_path(item.prefix, item.code, frame),
        "width": item.width,
        "height": item.height,
    }
    handle.write(json.dumps(record) + "\n")


def _coco_annotation(handle: IO[str], image_id: int, consensus: dict, point_keys: list[str]) -> None:
    """COCO keypoints of the consensus: v = 2 placed by most, 1 blurred, 0 off or not placed."""
    values: list[float] = []
    for key in point_keys:
        entry = consensus[key]
        if entry["x"] is not None and entry["placed"] >= max(entry["off"], entry["blurred"]):
            values.extend([entry["x"], entry["y"], 2])
        elif entry["blurred"] > entry["off"]:
            values.extend([0, 0, 1])
        else:
            values.extend([0, 0, 0])
    visible = sum(1 for v in values[2::3] if v > 0)
    record = {"id": image_id, "image_id": image_id, "category_id": 1, "keypoints": values, "num_keypoints": visible}
    handle.write(json.dumps(record) + "\n")


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=False) + "\n").encode()


def _num(value: float) -> str:
    value = float(value)
    if not np.isfinite(value):
        return ""
    return repr(round(value, 6))


def _whole(value: float) -> str:
    value = float(value)
    return str(int(value)) if np.isfinite(value) else ""


def _rounded(value: float) -> float | None:
    value = float(value)
    return round(value, 4) if np.isfinite(value) else None
