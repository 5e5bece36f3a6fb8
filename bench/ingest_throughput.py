"""Ingest throughput (frames per second) against a bare baseline, and peak memory of a long clip.

    DJANGO_DEBUG=1 .venv/bin/python bench/ingest_throughput.py [--frames 120] [--repeat 3]

For 640x480 and 112x112 multi-frame files it times, in the same run and on the same file:
- baseline: pydicom decode (frame by frame) + PyAV libx264 encode, nothing else;
- pipeline: ``media_ingest.pipeline.process_file`` (decode, mask, hash, H.264, frame JPEG chunks,
  poster, grey array), the work an ingest job does before storing files.
Both encode with the same ``open_h264_writer`` settings at the file's frame rate. Each is run once
to warm up, then the two alternate (baseline, pipeline, baseline, ...) ``--repeat`` times so that
load from other processes hits both alike; the best time of each is kept. It prints fps for each,
the ratio pipeline / baseline (target >= 0.7), and the median of the per-pair ratios.
Then, in a fresh subprocess, the peak resident memory (VmHWM) of ingesting a 300-frame
640x480 clip, beside the size of its decoded frames, to show frames are streamed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")


def _setup() -> None:
    import django

    django.setup()


def baseline(path: Path, folder: Path) -> int:
    """pydicom decode + PyAV encode: the floor any ingest pays."""
    import av
    import pydicom
    from pydicom.pixels import iter_pixels

    from media_ingest.conf import INGEST
    from media_ingest.derived import EncoderSettings, open_h264_writer

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    settings = EncoderSettings(jpeg_quality=INGEST.jpeg_quality, crf=INGEST.video_crf, preset=INGEST.video_preset)
    rate = 1000.0 / float(ds.FrameTime) if "FrameTime" in ds else INGEST.default_frame_rate
    container, stream = open_h264_writer(
        folder / "baseline.mp4", width=ds.Columns, height=ds.Rows, frame_rate=rate, settings=settings
    )
    count = 0
    for index, rgb in enumerate(iter_pixels(path)):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = index
        for packet in stream.encode(frame):
            container.mux(packet)
        count += 1
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return count


def pipeline(path: Path, folder: Path) -> int:
    from media_ingest.pipeline import process_file
    from media_ingest.processing import encoder_settings

    return process_file(path, folder=folder, rectangles=[], settings=encoder_settings()).media.frame_count


def _seconds(function, path: Path) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        frames = function(path, Path(folder))
        return time.perf_counter() - start, frames


def interleaved(path: Path, repeat: int) -> tuple[float, float, float]:
    """fps of baseline and pipeline (best of ``repeat`` each, runs alternating after one warm-up
    run of each), and the median ratio of the pipeline / baseline fps within each pair."""
    _seconds(baseline, path)
    _seconds(pipeline, path)
    base_times, ours_times = [], []
    frames = 0
    for _ in range(repeat):
        seconds, frames = _seconds(baseline, path)
        base_times.append(seconds)
        seconds, frames = _seconds(pipeline, path)
        ours_times.append(seconds)
    ratios = sorted(b / o for b, o in zip(base_times, ours_times, strict=True))
    return frames / min(base_times), frames / min(ours_times), ratios[len(ratios) // 2]


def _vm_hwm_kib() -> int:
    """Peak resident set of this process image (VmHWM), which, unlike ru_maxrss, is not inherited
    from the parent across fork + exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_memory_child(path: str) -> None:
    _setup()
    import media_ingest.pipeline  # noqa: F401 - import cost counted before the clip

    before = _vm_hwm_kib()
    with tempfile.TemporaryDirectory() as folder:
        frames = pipeline(Path(path), Path(folder))
    print(json.dumps({"frames": frames, "before_kib": before, "peak_kib": _vm_hwm_kib()}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        peak_memory_child(args.memory_child)
        return
    _setup()
    from media_ingest.synthetic import write_synthetic_echo

    with tempfile.TemporaryDirectory() as folder:
        print(f"ingest throughput, {args.frames}-frame uncompressed RGB loops, best of {args.repeat}, interleaved")
        print(f"{'size':>9} {'baseline fps':>13} {'pipeline fps':>13} {'ratio':>6} {'median pair ratio':>18}")
        for columns, rows in [(640, 480), (112, 112)]:
            path = Path(folder) / f"bench-{columns}x{rows}.dcm"
            write_synthetic_echo(path, frames=args.frames, rows=rows, columns=columns, seed=1)
            base, ours, median = interleaved(path, args.repeat)
            print(f"{columns}x{rows:<5} {base:13.1f} {ours:13.1f} {ours / base:6.2f} {median:18.2f}")

        path = Path(folder) / "bench-300.dcm"
        write_synthetic_echo(path, frames=300, rows=480, columns=640, seed=2)
        child = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(path)], capture_output=True, text=True, check=True
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        decoded_mib = 300 * 480 * 640 * 3 / 2**20
        print(
            f"peak memory, 300-frame 640x480 clip: {result['peak_kib'] / 1024:.0f} MiB resident at peak, "
            f"{(result['peak_kib'] - result['before_kib']) / 1024:.0f} MiB above the "
            f"{result['before_kib'] / 1024:.0f} MiB after start-up (all decoded frames would be {decoded_mib:.0f} MiB)"
        )


if __name__ == "__main__":
    main()
