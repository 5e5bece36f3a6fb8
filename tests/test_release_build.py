"""Dataset releases, built from real ingested clips and real answers, read back with the loader the
release ships. Expected values come from outside the build: the source DICOM files (pixels,
spacing), the frame markers burned into the pixels, and the answers this test itself submitted."""

from __future__ import annotations

import hashlib
import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest

from annotations.models import Judgement
from annotations.services import do_issue_next_task, do_submit_judgement
from datasets.models import Release
from datasets.services import ReleaseError, do_build_release, do_create_release, do_withdraw_release, release_path
from media_ingest.models import Clip, IngestJob, ProjectItem
from media_ingest.synthetic import DEFAULT_PHI, read_frame_marker, write_synthetic_echo
from projects.models import Project
from projects.services import do_add_member
from tests.factories import KEYPOINTS_SCHEMA
from tests.ingest_helpers import ingest, read_media
from tests.support import make_project, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roots")]

FRAMES = 6
CLASSES = [
    {"key": "a4c", "name": "Apical four-chamber", "description": "x"},
    {"key": "plax", "name": "Parasternal long axis", "description": "x"},
    {"key": "a2c", "name": "Apical two-chamber", "description": "x"},
]
# Two clips share study A, so the split must keep them together.
STUDIES = ["1.2.3.100", "1.2.3.100", "1.2.3.200", "1.2.3.300", "1.2.3.400", "1.2.3.500"]


def load_loader():
    """The loader a researcher gets (datasets/loader_example.py, shipped as loader.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "datasets"))
    try:
        import loader_example
    finally:
        sys.path.pop(0)
    return loader_example


def ingest_clips(project: Project, tmp_path: Path) -> dict[str, dict]:
    """Clip name in a release (01-<code>) -> its source path, truth and study."""
    out = {}
    for n, study in enumerate(STUDIES):
        path = tmp_path / f"clip{n}.dcm"
        truth = write_synthetic_echo(
            path, frames=FRAMES, rows=120, columns=200, seed=n, frame_marker=True, phi={"StudyInstanceUID": study}
        )
        [job] = ingest(project, [path])
        assert job.status == IngestJob.Status.READY, job.error
        clip = Clip.objects.get(pk=job.clip_id)
        out[f"01-{clip.code}"] = {"path": path, "truth": truth, "study": study, "n": n, "clip": clip}
    return out


def answer_all(project: Project, experts, answer_for) -> dict[tuple[str, str], dict]:
    """Each expert answers every task they are given; returns (username, clip name) -> answer."""
    given = {}
    rng = np.random.default_rng(0)
    for expert in experts:
        while (task := do_issue_next_task(project, expert=expert, rng=rng)) is not None:
            items = list(task.items.select_related("clip").order_by("id"))
            answer = answer_for(expert, items)
            do_submit_judgement(task.pk, expert=expert, answer=answer, time_on_task_ms=4200)
            for item in items:
                given[(expert.username, f"01-{item.clip.code}")] = answer
    return given


def build(project: Project, **fields) -> tuple[Release, Path]:
    release = do_create_release(project, title=f"{project.title} dataset", queue=False, **fields)
    release = do_build_release(release.pk)
    assert release.status == Release.Status.READY, release.error
    return release, release_path(release)


def text_files(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {
            name.split("/", 1)[1]: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if not name.endswith((".png", ".mp4"))
        }


def check_common(path: Path, clips: dict[str, dict], experts, release: Release) -> object:
    loader = load_loader().Release(path)
    assert loader.verify() == len(loader.names())
    # Frames: every frame of every clip, equal to the source pixels below the banner, black above,
    # and each carrying its own frame number.
    for name, info in clips.items():
        frames = loader.frames(name)
        assert sorted(frames) == list(range(FRAMES))
        source = pydicom.dcmread(info["path"]).pixel_array
        top = info["truth"]["region"][1]
        for index, frame in frames.items():
            assert read_frame_marker(frame) == index
            assert np.array_equal(frame[top:], source[index][top:])
            assert not frame[:top].any()
        # Spacing in cm per pixel, from the file's own Physical Delta X/Y (cm).
        region = pydicom.dcmread(info["path"]).SequenceOfUltrasoundRegions[0]
        assert loader.spacing()[name] == pytest.approx((float(region.PhysicalDeltaX), float(region.PhysicalDeltaY)))
    # Splits: every development clip in exactly one split, and a study never in two.
    splits = loader.splits()
    placed = {clip: split for split, names in splits.items() for clip in names}
    assert sorted(placed) == sorted(clips)
    by_study: dict[str, set] = {}
    for clip, info in clips.items():
        by_study.setdefault(info["study"], set()).add(placed[clip])
    assert all(len(s) == 1 for s in by_study.values()), by_study
    rows = loader.clips()
    assert {rows[c]["Study"] for c in clips if clips[c]["study"] == STUDIES[0]} == {rows[next(iter(clips))]["Study"]}
    # Nothing identifies an expert or a patient: no user name, e-mail, id, study UID, PHI value or salt.
    texts = "\n".join(text_files(path).values())
    for expert in experts:
        assert expert.username not in texts and expert.email not in texts
    for value in (*(v for v in DEFAULT_PHI.values() if len(v) > 3), *STUDIES, release.salt):
        assert str(value) not in texts, value
    pseudonyms = {row["expert"] for row in loader.csv("labels/experts.csv")}
    assert pseudonyms == {f"E{n:03d}" for n in range(1, len(experts) + 1)}
    return loader


@pytest.fixture
def experts(db):
    return [make_user(f"expert-{n}", email=f"expert{n}@hospital.example") for n in range(3)]


def member_project(kind: str, experts, **fields) -> Project:
    fields.setdefault("slug", f"{kind}-release")
    project = make_project(kind, **fields)
    for expert in experts:
        do_add_member(project, user=expert)
    return project


def test_classification_release_round_trips_and_rebuilds_byte_identical(experts, tmp_path):
    project = member_project("classification", experts, label_schema={"classes": CLASSES}, target_views_per_item=3)
    clips = ingest_clips(project, tmp_path)

    def choose(expert, items):
        n = clips[f"01-{items[0].clip.code}"]["n"]
        return {"class": CLASSES[(n + (expert.username == "expert-2")) % 3]["key"]}

    given = answer_all(project, experts, choose)
    release, path = build(project, citation="Unity et al. 2026")
    first = path.read_bytes()
    loader = check_common(path, clips, experts, release)

    # Every answer comes back once, each expert under one pseudonym on every image.
    answers = loader.csv("labels/answers.csv")
    assert len(answers) == len(given) == 3 * len(clips)
    for clip in clips:
        rows = [r for r in answers if r["image"] == clip]
        assert sorted(r["class"] for r in rows) == sorted(a["class"] for (u, c), a in given.items() if c == clip)
        assert sorted(r["expert"] for r in rows) == ["E001", "E002", "E003"]
        assert all(r["time_on_task_s"] == "4.2" or float(r["time_on_task_s"]) < 4.2 for r in rows)
    # expert-2 alone chose differently on every clip: one pseudonym holds all those answers.
    odd = {r["expert"] for r in answers if r["class"] != CLASSES[clips[r["image"]]["n"] % 3]["key"]}
    assert len(odd) == 1
    # The majority class is what two of the three experts chose.
    for row in loader.csv("labels/consensus.csv"):
        n = clips[row["image"]]["n"]
        assert row["class"] == CLASSES[n % 3]["key"]
        assert (row["votes"], row["answers"]) == ("2", "3")
    assert loader.json("labels/class_lookup.json") == {c["key"]: c["name"] for c in CLASSES}

    # A rebuild of the same version gives the same bytes, even after more answers arrived.
    extra = make_user("late-expert")
    do_add_member(project, user=extra)
    Project.objects.filter(pk=project.pk).update(target_views_per_item=4)
    project.refresh_from_db()
    answer_all(project, [extra], lambda e, items: {"class": "a2c"})
    assert Judgement.objects.filter(project=project).count() == 4 * len(clips)
    rebuilt = do_build_release(release.pk)
    assert rebuilt.archive_sha256 == hashlib.sha256(first).hexdigest()
    assert release_path(rebuilt).read_bytes() == first
    # The next version has the new answers.
    newer, newer_path = build(project)
    assert newer.version == 2
    assert len(load_loader().Release(newer_path).csv("labels/answers.csv")) == 4 * len(clips)


def test_keypoint_release_keeps_every_expert_point_and_the_frame_it_was_placed_on(experts, tmp_path):
    project = member_project("keypoints", experts, label_schema=KEYPOINTS_SCHEMA, target_views_per_item=3)
    clips = ingest_clips(project, tmp_path)

    def place(expert, items):
        n = clips[f"01-{items[0].clip.code}"]["n"]
        e = int(expert.username[-1])
        return {
            "frame": (n + e) % FRAMES,
            "labels": {
                "apex": {"state": "placed", "points": [[10.25 + n + e, 20.5 + e]]},
                "lv": {
                    "state": "blurred" if e == 2 else "placed",
                    "points": [] if e == 2 else [[1, 1], [5, 4], [9, 1]],
                },
            },
        }

    given = answer_all(project, experts, place)
    release, path = build(project)
    loader = check_common(path, clips, experts, release)
    per_expert = loader.json("labels/keypoints_experts.json")
    seen = 0
    for (_username, clip), answer in given.items():
        image = f"{clip}-{answer['frame']:04d}"
        entries = [
            labels
            for labels in per_expert[image].values()
            if labels["apex"]["x"] == [answer["labels"]["apex"]["points"][0][0]]
        ]
        assert len(entries) == 1, (image, per_expert[image])
        entry = entries[0]
        assert entry["apex"]["y"] == [answer["labels"]["apex"]["points"][0][1]]
        assert entry["lv"]["state"] == answer["labels"]["lv"]["state"]
        assert list(zip(entry["lv"]["x"], entry["lv"]["y"], strict=True)) == [
            tuple(p) for p in answer["labels"]["lv"]["points"]
        ]
        seen += 1
    assert seen == 3 * len(clips)
    consensus = loader.json("labels/keypoints_consensus.json")
    for labels in consensus.values():
        lv = labels["labels"]["lv"]
        if lv["x"] is not None:
            assert len(lv["x"]) == 50
            # The mean of identical curves is the curve: its ends are the placed ends.
            assert (lv["x"][0], lv["y"][0], lv["x"][-1], lv["y"][-1]) == (1, 1, 9, 1)
    coco = loader.json("labels/coco_keypoints.json")
    assert coco["categories"][0]["keypoints"] == ["apex"]
    assert len(coco["images"]) == len(consensus)
    for image in coco["images"]:
        assert loader.read(image["file_name"]).startswith(b"\x89PNG")


def test_temporal_release_has_one_row_per_clip_with_each_operators_frames(experts, tmp_path):
    schema = {
        "events": [
            {"key": "ed", "name": "End-diastole", "colour": "#d62728"},
            {"key": "es", "name": "End-systole", "colour": "#1f77b4"},
        ],
        "min_beats": 1,
        "max_beats": 2,
    }
    project = member_project("temporal", experts[:2], label_schema=schema, target_views_per_item=2)
    clips = ingest_clips(project, tmp_path)

    def mark(expert, items):
        n = clips[f"01-{items[0].clip.code}"]["n"]
        e = int(expert.username[-1])
        return {
            "events": [{"key": "ed", "frame": (n + e) % FRAMES, "beat": 1}, {"key": "es", "frame": 5 - e, "beat": 1}]
        }

    given = answer_all(project, experts[:2], mark)
    release, path = build(project)
    loader = check_common(path, clips, experts[:2], release)
    rows = {row["FileName"]: row for row in loader.csv("labels/phases.csv")}
    assert sorted(rows) == sorted(clips)
    split_of = {c: s for s, names in loader.splits().items() for c in names}
    for clip, row in rows.items():
        assert row["NumberOfFrames"] == str(FRAMES) and row["Split"] == split_of[clip]
        marked = sorted((row[f"Op{k}_ED1"], row[f"Op{k}_ES1"], row[f"Op{k}_ED2"]) for k in (1, 2))
        expected = sorted(
            (str(a["events"][0]["frame"]), str(a["events"][1]["frame"]), "") for (u, c), a in given.items() if c == clip
        )
        assert marked == expected


def test_ranking_release_publishes_every_ordering_and_ratings_from_the_log(experts, tmp_path):
    project = member_project("ranking", experts, batch_size=3, target_views_per_item=4, rating_period_judgements=2)
    clips = ingest_clips(project, tmp_path)
    truth = {name: info["truth"]["foreshortening"] for name, info in clips.items()}

    def order(expert, items):
        return {"ordering": [i.pk for i in sorted(items, key=lambda i: truth[f"01-{i.clip.code}"])], "ties": []}

    answer_all(project, experts, order)
    release, path = build(project)
    loader = check_common(path, clips, experts, release)
    answers = loader.csv("labels/answers.csv")
    assert len(answers) == Judgement.objects.filter(project=project).count() > 0
    for row in answers:
        shown = row["ordering"].split()
        assert shown == sorted(shown, key=truth.get)
    ratings = {row["image"]: row for row in loader.csv("labels/ratings.csv")}
    assert sorted(ratings) == sorted(clips)
    # Consistent orderings put the least foreshortened clip on top of the Bradley-Terry scale.
    ranked = sorted(ratings, key=lambda c: int(ratings[c]["rank"]))
    assert ranked[0] == min(truth, key=truth.get) and ranked[-1] == max(truth, key=truth.get)


def test_releases_refuse_what_they_cannot_do_and_withdrawal_keeps_the_record(experts, tmp_path, settings):
    empty = member_project("classification", experts)
    with pytest.raises(ReleaseError, match="no items"):
        do_create_release(empty, title="nothing", queue=False)
    with pytest.raises(ReleaseError, match="split_fractions"):
        do_create_release(empty, title="bad", queue=False, split_fractions=[1, -1, 0])

    project = member_project("classification", experts, label_schema={"classes": CLASSES}, slug="old-clips")
    clips = ingest_clips(project, tmp_path)
    # A clip ingested before lossless masters existed: the build fails and says which clip.
    first = next(iter(clips.values()))["clip"]
    Clip.objects.filter(pk=first.pk).update(lossless_manifest_name="")
    release = do_create_release(project, title="old", queue=False)
    release = do_build_release(release.pk)
    assert release.status == Release.Status.FAILED
    assert first.code[:12] in release.error and "ingest" in release.error
    assert not list(Path(settings.UNITY_PRIVATE_ROOT, "releases").glob("*.zip"))

    Clip.objects.filter(pk=first.pk).update(lossless_manifest_name=f"{first.storage_prefix}/lossless/manifest.json")
    release = do_build_release(release.pk)
    assert release.status == Release.Status.READY
    with pytest.raises(ReleaseError, match="why"):
        do_withdraw_release(release, reason=" ")
    release = do_withdraw_release(release, reason="consent withdrawn for one study")
    assert release.status == Release.Status.WITHDRAWN and release.withdrawn_at is not None
    assert do_build_release(release.pk).status == Release.Status.WITHDRAWN
    assert ProjectItem.objects.filter(project=project).count() == len(clips)


def test_release_archive_entries_are_fixed_and_named_in_the_biobank_layout(experts, tmp_path):
    project = member_project("classification", experts, label_schema={"classes": CLASSES})
    clips = ingest_clips(project, tmp_path)
    release, path = build(project, include_video=True)
    with zipfile.ZipFile(path) as archive:
        for name, info in clips.items():
            code = info["clip"].code
            shipped = archive.read(f"{release.name}/01/{code[:2]}/{code[2:4]}/{name}.mp4")
            assert shipped == read_media(info["clip"].video_name)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert len({i.date_time for i in infos}) == 1
        pngs = [n for n in names if n.endswith(".png")]
        pattern = re.compile(r"^[^/]+/01/([0-9a-f]{2})/([0-9a-f]{2})/01-(\1\2[0-9a-f]{60})-(\d{4})\.png$")
        assert len(pngs) == len(clips) * FRAMES and all(pattern.match(n) for n in pngs)
        assert len([n for n in names if n.endswith(".mp4")]) == len(clips)
        assert names[-1].endswith("MANIFEST.sha256")
        for name in ("README.md", "croissant.json", "loader.py", "LICENSE.txt", "metadata/spacing.csv"):
            assert f"{release.name}/{name}" in names
        readme = archive.read(f"{release.name}/README.md").decode()
    assert readme.startswith("---\n") and 'license: "CC-BY-NC-SA-4.0"' in readme
    assert io.BytesIO(path.read_bytes()).getbuffer().nbytes == release.archive_size


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib, under mlcroissant
def test_croissant_metadata_validates_and_its_records_read_the_released_files(experts, tmp_path):
    mlcroissant = pytest.importorskip("mlcroissant")
    project = member_project("classification", experts, label_schema={"classes": CLASSES}, target_views_per_item=1)
    clips = ingest_clips(project, tmp_path)
    answer_all(project, experts[:1], lambda e, items: {"class": "plax"})
    release, path = build(project)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp_path / "out")
    folder = tmp_path / "out" / release.name
    dataset = mlcroissant.Dataset(jsonld=str(folder / "croissant.json"))
    assert dataset.metadata.license
    records = list(dataset.records(record_set="clips"))
    assert sorted(r["clips/FileName"].decode() for r in records) == sorted(clips)
    spacing = {
        r["spacing/FileHash"].decode(): r["spacing/PhysicalDeltaX"] for r in dataset.records(record_set="spacing")
    }
    assert spacing == pytest.approx({name: clips[name]["clip"].pixel_spacing_x_mm / 10 for name in clips})
