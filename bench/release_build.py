"""Building a dataset release, end to end, beside the naive way in the same run.

    .venv/bin/python bench/release_build.py                       # 500 clips x 40 frames + 100,000-item labels
    .venv/bin/python bench/release_build.py --clips 50 --judgements 100000

Media: a classification project of ``--clips`` clips of 40 frames at 640x480 (20,000 frames at
500 clips), each with a lossless master written as ingest writes it (``media_ingest.derived``),
and three experts' answers. Timed, each in a fresh child process (wall time, peak RSS = VmHWM):
- **Unity**: ``do_create_release`` + ``do_build_release``: the whole build through the database
  and the media storage (labels, metadata, splits, card, Croissant, loader, manifest, frames);
- **naive**: one loop over the same pixels (already decoded in .npy files, which favours it):
  Pillow encodes each frame as PNG at the same zlib level (1; grey when R = G = B, as the master),
  Python's zipfile stores it.
The PNG encoding a master costs at ingest is printed too: the build copies bytes because ingest
paid for them once.

Labels: a classification project of ``--items`` items and ``--judgements`` judgements (COPY), a
labels-only release (``include_frames=False``) in a fresh child: time and peak RSS. Anchor: Label
Studio took 89-144 s and +320 MB to export 100,000 tasks on this machine.

The bench database (DATABASE_URL, default unity_bench_release) is dropped and built afresh.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import secrets
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unity_bench_release")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("UNITY_VAR_DIR", "/tmp/unity_bench_release_var")  # noqa: S108 (a bench's scratch)
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_hex(16))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate_load import recreate_database  # noqa: E402 - after the environment (it only fills gaps)

FRAMES, ROWS, COLUMNS = 40, 480, 640
BANNER = 32  # media_ingest.synthetic's banner rows at this size
BASES = 8  # distinct synthetic loops; each clip is one of them with its own number burned in
MEDIA_SLUG, LABELS_SLUG = "release-media", "release-labels"
SCRATCH = Path(os.environ["UNITY_VAR_DIR"]) / "bench"
LABEL_STUDIO = "89-144 s, +320 MB (100,000 tasks)"


def high_water_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django() -> None:
    import django

    django.setup()


def base_loops() -> list[Path]:
    """BASES synthetic loops as .npy (frames x rows x columns x 3), written once."""
    from media_ingest.synthetic import write_synthetic_echo

    SCRATCH.mkdir(parents=True, exist_ok=True)
    paths = []
    for b in range(BASES):
        path = SCRATCH / f"base-{b}.npy"
        if not path.exists():
            import pydicom

            dicom = SCRATCH / f"base-{b}.dcm"
            write_synthetic_echo(dicom, frames=FRAMES, rows=ROWS, columns=COLUMNS, seed=b)
            np.save(path, pydicom.dcmread(dicom).pixel_array)
            dicom.unlink()
        paths.append(path)
    return paths


def clip_frames(bases: list[Path], n: int) -> np.ndarray:
    """Clip ``n``: base ``n % BASES`` with its banner blacked out as ingest masks it, and ``n``
    written into its first row (so every code differs)."""
    frames = np.load(bases[n % BASES])
    frames[:, :BANNER] = 0
    frames[:, 0, :8, :] = np.frombuffer(n.to_bytes(8, "big"), np.uint8)[None, :, None]
    return frames


def copy_text(table: str, columns: list[str], lines: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO("\n".join(lines) + "\n"))


def answers(project, item_ids: list[int], experts: list[int], per_item: int, classes: list[str]) -> None:
    """``per_item`` answered classification tasks per item by COPY (tasks, task items, judgements)."""
    from annotations.models import Judgement, Task, TaskItem

    first = datetime(2026, 1, 1, tzinfo=UTC)
    rng = np.random.default_rng(0)
    chunk = 100_000
    pairs = [(item, k) for item in item_ids for k in range(per_item)]
    for start in range(0, len(pairs), chunk):
        tasks, items, judgements = [], [], []
        for j, (item, k) in enumerate(pairs[start : start + chunk], start=start):
            task, created = uuid.uuid4(), (first + timedelta(seconds=j)).isoformat()
            expert = experts[k % len(experts)]
            status = Task.Status.ANSWERED
            tasks.append(f"{task}\t{project.pk}\t{expert}\t{status}\t{item}\t{created}\t{created}\t{created}\t")
            items.append(f"{task}\t{item}\t0")
            answer = json.dumps({"class": classes[int(rng.integers(len(classes)))]})
            judgements.append(
                f"{task}\t{project.pk}\t{expert}\t{answer}\t{created}\tf\t\t{int(rng.integers(2000, 9000))}\t{{}}"
            )
        copy_text(
            Task._meta.db_table,
            [
                "id",
                "project_id",
                "expert_id",
                "status",
                "item_set_key",
                "issued_at",
                "expires_at",
                "closed_at",
                "skip_reason",
            ],
            tasks,
        )
        copy_text(TaskItem._meta.db_table, ["task_id", "item_id", "position"], items)
        copy_text(
            Judgement._meta.db_table,
            [
                "task_id",
                "project_id",
                "expert_id",
                "answer",
                "created_at",
                "not_sure",
                "feedback",
                "time_on_task_ms",
                "client_info",
            ],
            judgements,
        )


def experts(n: int, tag: str) -> list[int]:
    from projects.models import ExpertProfile
    from tests.support import make_user

    users = [make_user(f"bench-{tag}-{k}") for k in range(n)]
    for user, profession in zip(users, ["cardiologist", "sonographer", "echocardiographer"] * n, strict=False):
        ExpertProfile.objects.update_or_create(user=user, defaults={"profession": profession})
    return [u.pk for u in users]


CLASSES = [{"key": k, "name": k.upper(), "description": k} for k in ("a4c", "a2c", "plax", "psax")]


def build_media(n_clips: int) -> float:
    """The media project; returns the seconds spent encoding masters (what ingest pays)."""
    from django.contrib.auth import get_user_model
    from django.core.files.storage import default_storage

    from media_ingest.derived import ChunkStream, encode_lossless
    from media_ingest.layout import LOSSLESS_MANIFEST, storage_prefix
    from media_ingest.models import Clip, ProjectItem
    from projects.services import do_add_member
    from tests.support import make_project

    project = make_project("classification", slug=MEDIA_SLUG, label_schema={"classes": CLASSES})
    bases = base_loops()
    encode_seconds = 0.0
    media_root = Path(default_storage.location)
    for n in range(n_clips):
        frames = clip_frames(bases, n)
        code = hashlib.sha256(frames.tobytes()).hexdigest()
        prefix = storage_prefix(code)
        folder = media_root / prefix / Path(LOSSLESS_MANIFEST).parent
        stream = ChunkStream(folder)
        started = time.perf_counter()
        for rgb in frames:
            stream.append(encode_lossless(np.ascontiguousarray(rgb)))
        encode_seconds += time.perf_counter() - started
        stream.close()
        manifest = {"code": code, "frame_count": FRAMES, "width": COLUMNS, "height": ROWS, "format": "png"}
        (media_root / prefix / LOSSLESS_MANIFEST).write_text(json.dumps({**manifest, "chunks": stream.chunks}))
        clip = Clip.objects.create(
            code=code,
            status=Clip.Status.READY,
            frame_count=FRAMES,
            frame_rate=30.0,
            rows=ROWS,
            columns=COLUMNS,
            pixel_spacing_x_mm=0.3,
            pixel_spacing_y_mm=0.3,
            study_key=hashlib.sha256(f"study-{n // 2}".encode()).hexdigest(),
            storage_prefix=prefix,
            lossless_manifest_name=f"{prefix}/{LOSSLESS_MANIFEST}",
        )
        ProjectItem.objects.create(project=project, clip=clip)
    users = experts(3, "media")
    for user in get_user_model().objects.filter(pk__in=users):
        do_add_member(project, user=user)
    item_ids = list(ProjectItem.objects.filter(project=project).values_list("id", flat=True))
    answers(project, item_ids, users, 3, [c["key"] for c in CLASSES])
    return encode_seconds


def build_labels(n_items: int, n_judgements: int) -> None:
    from django.db import connection

    from media_ingest.models import Clip, ProjectItem
    from tests.support import make_project

    project = make_project("classification", slug=LABELS_SLUG, label_schema={"classes": CLASSES})
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Clip._meta.db_table}")  # noqa: S608
        last = cursor.fetchone()[0]
    for start in range(0, n_items, 20_000):
        clips = []
        for i in range(start, min(n_items, start + 20_000)):
            code = hashlib.sha256(f"labels-{i}".encode()).hexdigest()
            clips.append(
                Clip(
                    code=code,
                    status=Clip.Status.READY,
                    frame_count=40,
                    frame_rate=30.0,
                    rows=240,
                    columns=320,
                    pixel_spacing_x_mm=0.3,
                    pixel_spacing_y_mm=0.3,
                    storage_prefix=f"{code[:2]}/{code[2:4]}/{code}",
                )
            )
        Clip.objects.bulk_create(clips, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ProjectItem._meta.db_table} (project_id, clip_id, split, is_active, judgement_count, created_at)"  # noqa: S608
            f" SELECT %s, id, '01', true, 0, now() FROM {Clip._meta.db_table} WHERE id > %s",
            [project.pk, last],
        )
    users = experts(25, "labels")
    item_ids = list(ProjectItem.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    answers(project, item_ids, users, max(1, n_judgements // n_items), [c["key"] for c in CLASSES])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- children -------------------------------------------------------------------------------------


def child_unity(slug: str, frames: bool) -> dict:
    from datasets.processing import do_build_release, release_path
    from datasets.services import do_create_release
    from projects.models import Project

    project = Project.objects.get(slug=slug)
    started = time.perf_counter()
    release = do_create_release(project, title=slug, queue=False, include_frames=frames)
    release = do_build_release(release.pk)
    seconds = time.perf_counter() - started
    assert release.status == "ready", release.error
    return {
        "seconds": seconds,
        "peak_mb": high_water_mb(),
        "bytes": release_path(release).stat().st_size,
        "frames": release.summary["frames"],
        "answers": release.summary["answers"],
    }


def child_naive(n_clips: int) -> dict:
    from PIL import Image

    bases = base_loops()
    target = SCRATCH / "naive.zip"
    started = time.perf_counter()
    count = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for n in range(n_clips):
            frames = clip_frames(bases, n)
            code = hashlib.sha256(frames.tobytes()).hexdigest()
            for index, rgb in enumerate(frames):
                grey = np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
                image = Image.fromarray(np.ascontiguousarray(rgb[..., 0]) if grey else np.ascontiguousarray(rgb))
                buffer = io.BytesIO()
                image.save(buffer, "PNG", compress_level=1)
                archive.writestr(f"01/{code[:2]}/{code[2:4]}/01-{code}-{index:04d}.png", buffer.getvalue())
                count += 1
    return {
        "seconds": time.perf_counter() - started,
        "peak_mb": high_water_mb(),
        "bytes": target.stat().st_size,
        "frames": count,
    }


def run_child(argv: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *argv], check=True, capture_output=True, text=True, env=os.environ
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=500)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--judgements", type=int, default=1_000_000)
    parser.add_argument("--skip-media", action="store_true")
    parser.add_argument("--skip-labels", action="store_true")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        setup_django()
        what = args.child[0]
        if what == "unity":
            result = child_unity(args.child[1], args.child[2] == "frames")
        else:
            result = child_naive(int(args.child[1]))
        print(json.dumps(result))
        return

    recreate_database()
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    media_root = Path(os.environ["UNITY_VAR_DIR"]) / "media"
    if media_root.exists():
        import shutil

        shutil.rmtree(media_root)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}", flush=True)
    if not args.skip_media:
        started = time.perf_counter()
        encode = build_media(args.clips)
        frames = args.clips * FRAMES
        print(
            f"media project: {args.clips} clips x {FRAMES} frames at {COLUMNS}x{ROWS} ({frames:,} frames), "
            f"set up in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        print(
            f"  lossless masters, PNG encoding as ingest does it: {encode:.1f} s ({1000 * encode / frames:.2f} ms/frame)"
        )
        naive = run_child(["naive", str(args.clips)])
        unity = run_child(["unity", MEDIA_SLUG, "frames"])
        print(
            f"  naive (Pillow PNG level 1 + zipfile, one loop): {naive['seconds']:.1f} s, peak RSS {naive['peak_mb']:.0f} MB, "
            f"{naive['bytes'] / 1e6:.0f} MB"
        )
        print(
            f"  Unity release build (database, labels, card, manifest, frames): {unity['seconds']:.1f} s, "
            f"peak RSS {unity['peak_mb']:.0f} MB, {unity['bytes'] / 1e6:.0f} MB, {unity['frames']:,} frames"
        )
        print(
            f"  speed: {naive['seconds'] / unity['seconds']:.2f}x the naive way (target >= 1.5x); "
            f"with the masters' encoding counted in: {naive['seconds'] / (unity['seconds'] + encode):.2f}x"
        )
    if not args.skip_labels:
        started = time.perf_counter()
        build_labels(args.items, args.judgements)
        print(
            f"labels project: {args.items:,} items, {args.judgements:,} judgements, set up in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        unity = run_child(["unity", LABELS_SLUG, "labels"])
        print(
            f"  Unity labels-only release: {unity['seconds']:.1f} s, peak RSS {unity['peak_mb']:.0f} MB, "
            f"{unity['bytes'] / 1e6:.0f} MB, {unity['answers']:,} answers (Label Studio: {LABEL_STUDIO})"
        )


if __name__ == "__main__":
    main()
