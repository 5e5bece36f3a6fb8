"""How many expert labels until the model is nearly as good as with all of them: active learning
against random order, on three pools.

Pools (each with a held-out test split, redrawn for every seed):
- views: synthetic 112x112 echo frames of 6 views (media_ingest.synthetic_views.sample_pool),
  view classification, metric test accuracy;
- landmarks: the same generator's landmark truth, heatmap localisation, metric mean landmark
  error in pixels of the 112x112 frame over the landmarks each view has (lower is better);
- digits: scikit-learn's 8x8 digits (1,797 real images that the package ships), 10 classes.

For each strategy and seed: a seed set (random for "random"; the cold start by diversity for the
others), then batches chosen by the strategy, retraining from scratch after each batch
(activelearning.learners, activelearning.strategies.select). Reported per pool and strategy, on
the curve averaged over seeds: the labels needed to reach 95% of the full-data performance
(accuracy >= 0.95 x full; error <= full / 0.95), linearly interpolated between checkpoints; the
ratio to random's labels (target: <= 0.4 for the best strategy on every pool); and the fraction
of full-data performance with 25% of the pool labelled (accuracy / full; full error / error).
"Full data" is the same learner trained on every pool label (same seeds).

    .venv/bin/python bench/learning_simulation.py            # the full run (46 min with CI alongside)
    .venv/bin/python bench/learning_simulation.py --quick    # a smoke run, about 5 minutes
    .venv/bin/python bench/learning_simulation.py --pools digits --strategies random,margin

Work runs in ``--workers`` processes of one torch thread each: on 2 shared cores this was several
times faster than one process with 2 threads (small convolutions; see activelearning/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activelearning.learners import KeypointRegressor, TrainParams, ViewClassifier, pixel_embeddings, prepare_images
from activelearning.strategies import select

TARGET_FRACTION = 0.95
ANCHOR_LABELS = 0.25  # the anchor: 97.7% of full-data performance with 25% of the labels

CLASSIFY_STRATEGIES = ("random", "least_confidence", "margin", "entropy", "bald", "variance", "coreset", "hybrid")
LANDMARK_STRATEGIES = ("random", "variance", "coreset", "hybrid")
QUICK_STRATEGIES = ("random", "margin", "variance", "hybrid")


@dataclass(frozen=True)
class PoolSpec:
    name: str
    kind: str  # "classify" or "landmarks"
    n_pool: int
    n_test: int
    params: TrainParams
    schedule: tuple[int, ...]  # labels at each checkpoint; includes 25% of the pool
    strategies: tuple[str, ...]
    mc_passes: int = 20
    hybrid_factor: float = 4.0
    hybrid_uncertainty: str = "margin"
    hybrid_diversity: str = "kcenter"
    cold_start: str = "cold_start_kmeans"
    cold_features: str = "pixels"  # "pixels" (downsampled) or "untrained" (random-weight network)
    n_classes: int = 0
    n_landmarks: int = 0
    image_side: int = 112  # the generator's side: errors are reported in these pixels

    @property
    def metric(self) -> str:
        return "error px" if self.kind == "landmarks" else "accuracy"

    @property
    def lower_is_better(self) -> bool:
        return self.kind == "landmarks"


@dataclass
class Curve:
    labels: list[int] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _schedule(start: int, n_pool: int, points: int, end: float) -> tuple[int, ...]:
    """Geometric checkpoints from ``start`` to ``end`` of the pool; the nearest one moved to 25%."""
    grid = np.round(np.geomspace(start, round(end * n_pool), points)).astype(int)
    anchor = round(ANCHOR_LABELS * n_pool)
    grid[np.abs(np.log(grid / anchor)).argmin()] = anchor
    return tuple(int(v) for v in np.unique(grid))


def build_specs(quick: bool, n_views: int, n_landmarks: int) -> dict[str, PoolSpec]:
    """The three pools; the same training recipe at every checkpoint and for the full-data reference."""
    scale = 0.4 if quick else 1.0
    views_pool, landmark_pool = round(5000 * scale), round(1000 * scale)
    view_params = TrainParams(size=48, width=8, epochs=60, min_steps=150, max_steps=700, batch_size=32, shift=2)
    landmark_params = TrainParams(size=64, width=8, epochs=30, min_steps=200, max_steps=800, batch_size=16)
    digit_params = TrainParams(size=16, width=16, epochs=40, min_steps=250, max_steps=800, batch_size=32, shift=1)
    points = 6 if quick else 8
    specs = [
        PoolSpec(
            "views",
            "classify",
            views_pool,
            1000,
            view_params,
            _schedule(12, views_pool, points, ANCHOR_LABELS),
            CLASSIFY_STRATEGIES,
            n_classes=n_views,
        ),
        # Landmark error keeps falling long after accuracy saturates: 95% of the full-data error
        # is a much stricter bar than 95% of accuracy, so this curve runs to 70% of the pool.
        PoolSpec(
            "landmarks",
            "landmarks",
            landmark_pool,
            400,
            landmark_params,
            _schedule(16, landmark_pool, points, 0.7),
            LANDMARK_STRATEGIES,
            hybrid_uncertainty="variance",
            n_landmarks=n_landmarks,
        ),
        PoolSpec(
            "digits",
            "classify",
            1347,
            450,
            digit_params,
            _schedule(10, 1347, points, ANCHOR_LABELS),
            CLASSIFY_STRATEGIES,
            n_classes=10,
        ),
    ]
    return {s.name: s for s in specs}


# Data --------------------------------------------------------------------------------------------


def _resize(images: NDArray, size: int) -> NDArray[np.uint8]:
    tensor = prepare_images(images, size)
    return np.clip(np.rint(tensor[:, 0].numpy() * 255.0), 0, 255).astype(np.uint8)


def make_data(spec: PoolSpec, seed: int) -> dict[str, NDArray]:
    """Pool and test arrays for one seed, images already at the learner's input size."""
    if spec.name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        images = np.clip(digits.images * 16.0, 0, 255).astype(np.uint8)
        x_pool, x_test, y_pool, y_test = train_test_split(
            images, digits.target, test_size=spec.n_test, stratify=digits.target, random_state=seed
        )
        return {
            "x_pool": _resize(x_pool, spec.params.size),
            "y_pool": y_pool.astype(np.int64),
            "x_test": _resize(x_test, spec.params.size),
            "y_test": y_test.astype(np.int64),
        }
    from media_ingest.synthetic_views import sample_pool

    offset = 0 if spec.name == "views" else 1_000_003  # the two synthetic pools draw different clips
    pool = sample_pool(spec.n_pool + spec.n_test, seed=seed + offset, size=spec.image_side)
    images = _resize(pool.images, spec.params.size)
    if spec.kind == "classify":
        y = pool.views.astype(np.int64)
    else:
        y = pool.landmarks.astype(np.float32) * np.float32(spec.params.size / spec.image_side)
    n = spec.n_pool
    return {"x_pool": images[:n], "y_pool": y[:n], "x_test": images[n:], "y_test": y[n:]}


# Learning ----------------------------------------------------------------------------------------


def _learner(spec: PoolSpec, params: TrainParams) -> ViewClassifier | KeypointRegressor:
    if spec.kind == "classify":
        return ViewClassifier(spec.n_classes, params)
    return KeypointRegressor(spec.n_landmarks, params)


def _evaluate(spec: PoolSpec, model: ViewClassifier | KeypointRegressor, data: dict[str, NDArray]) -> float:
    if spec.kind == "classify":
        return float((model.predict(data["x_test"]) == data["y_test"]).mean())
    truth = data["y_test"]
    predicted = model.predict_points(data["x_test"])
    present = ~np.isnan(truth).any(axis=2)
    error = np.linalg.norm(predicted - truth, axis=2)[present]
    return float(error.mean() * spec.image_side / spec.params.size)


def _cold_features(spec: PoolSpec, x: NDArray, seed: int) -> NDArray:
    if spec.cold_features == "untrained":
        return _learner(spec, replace(spec.params, seed=seed)).embed(x)
    return pixel_embeddings(x, size=min(16, spec.params.size), seed=seed)


def run_strategy(spec: PoolSpec, data: dict[str, NDArray], strategy: str, seed: int) -> Curve:
    """One active-learning run: seed set, then batches by ``strategy`` up to 25% of the pool."""
    started = time.perf_counter()
    rng = np.random.default_rng([seed, 7])
    x_pool, y_pool = data["x_pool"], data["y_pool"]
    everything = np.arange(len(x_pool))
    first = spec.schedule[0]
    if strategy == "random":
        labelled = rng.choice(everything, size=first, replace=False)
    else:
        cold = _cold_features(spec, x_pool, seed)
        labelled = select(spec.cold_start, batch=first, pool_index=everything, embeddings=cold, rng=rng)
    curve = Curve()
    params = replace(spec.params, seed=seed)
    for step, size in enumerate(spec.schedule):
        model = _learner(spec, params).fit(x_pool[labelled], y_pool[labelled])
        curve.labels.append(len(labelled))
        curve.metric.append(_evaluate(spec, model, data))
        if step + 1 == len(spec.schedule):
            break
        batch = spec.schedule[step + 1] - size
        unlabelled = np.setdiff1d(everything, labelled)
        labelled = np.concatenate(
            [
                labelled,
                _query(
                    spec,
                    model,
                    x_pool,
                    labelled=labelled,
                    unlabelled=unlabelled,
                    strategy=strategy,
                    batch=batch,
                    rng=rng,
                    seed=seed,
                ),
            ]
        )
    curve.seconds = time.perf_counter() - started
    return curve


def _query(
    spec: PoolSpec,
    model: ViewClassifier | KeypointRegressor,
    x_pool: NDArray,
    *,
    labelled: NDArray,
    unlabelled: NDArray,
    strategy: str,
    batch: int,
    rng: np.random.Generator,
    seed: int,
) -> NDArray:
    if strategy == "random":
        return select("random", batch=batch, pool_index=unlabelled, rng=rng)
    mc = None
    if strategy != "coreset":
        mc = model.mc_predict(x_pool[unlabelled], passes=spec.mc_passes, seed=seed)
    embeddings = labelled_embeddings = None
    if strategy in ("coreset", "hybrid"):
        embeddings = model.embed(x_pool[unlabelled])
        labelled_embeddings = model.embed(x_pool[labelled])
    return select(
        strategy,
        batch=batch,
        pool_index=unlabelled,
        probs=None,
        mc_probs=mc,
        embeddings=embeddings,
        labelled_embeddings=labelled_embeddings,
        rng=rng,
        hybrid_uncertainty=spec.hybrid_uncertainty,
        hybrid_factor=spec.hybrid_factor,
        hybrid_diversity=spec.hybrid_diversity,
    )


def run_full(spec: PoolSpec, data: dict[str, NDArray], seed: int) -> Curve:
    started = time.perf_counter()
    model = _learner(spec, replace(spec.params, seed=seed)).fit(data["x_pool"], data["y_pool"])
    return Curve([len(data["x_pool"])], [_evaluate(spec, model, data)], time.perf_counter() - started)


# Workers -----------------------------------------------------------------------------------------

_SPECS: dict[str, PoolSpec] = {}
_DATA_DIR: list[Path] = []


def _init_worker(specs: dict[str, PoolSpec], data_dir: str) -> None:
    import torch

    torch.set_num_threads(1)
    _SPECS.update(specs)
    _DATA_DIR.append(Path(data_dir))


def _load(pool: str, seed: int) -> dict[str, NDArray]:
    with np.load(_DATA_DIR[0] / f"{pool}-{seed}.npz") as archive:
        return {key: archive[key] for key in archive.files}


def _task(pool: str, strategy: str, seed: int) -> tuple[str, str, int, Curve]:
    spec = _SPECS[pool]
    data = _load(pool, seed)
    curve = run_full(spec, data, seed) if strategy == "full" else run_strategy(spec, data, strategy, seed)
    return pool, strategy, seed, curve


# Report ------------------------------------------------------------------------------------------


def labels_to_reach(labels: NDArray, metric: NDArray, threshold: float, lower_is_better: bool) -> float:
    """First crossing of ``threshold`` on the curve, linearly interpolated; inf if never reached."""
    good = metric <= threshold if lower_is_better else metric >= threshold
    if not good.any():
        return float("inf")
    i = int(np.argmax(good))
    if i == 0:
        return float(labels[0])
    m0, m1 = metric[i - 1], metric[i]
    t = (threshold - m0) / (m1 - m0) if m1 != m0 else 1.0
    return float(labels[i - 1] + t * (labels[i] - labels[i - 1]))


def report(spec: PoolSpec, curves: dict[str, list[Curve]], full: list[Curve]) -> list[str]:
    full_value = float(np.mean([c.metric[0] for c in full]))
    threshold = full_value / TARGET_FRACTION if spec.lower_is_better else TARGET_FRACTION * full_value
    anchor = round(ANCHOR_LABELS * spec.n_pool)
    rows = []
    needed_random = None
    for strategy in spec.strategies:
        runs = curves[strategy]
        labels = np.asarray(runs[0].labels, dtype=float)
        metric = np.mean([r.metric for r in runs], axis=0)
        needed = labels_to_reach(labels, metric, threshold, spec.lower_is_better)
        per_seed = [labels_to_reach(labels, np.asarray(r.metric), threshold, spec.lower_is_better) for r in runs]
        if strategy == "random":
            needed_random = needed
        at_anchor = float(np.interp(anchor, labels, metric))
        fraction = full_value / at_anchor if spec.lower_is_better else at_anchor / full_value
        rows.append((strategy, needed, per_seed, fraction, metric, np.mean([r.seconds for r in runs])))
    lines = [
        f"### {spec.name}: {spec.metric}, full data ({spec.n_pool} labels) = {full_value:.4g}"
        f" (seeds: {', '.join(f'{c.metric[0]:.4g}' for c in full)}); 95% target = {threshold:.4g}",
        "",
        "| strategy | labels to 95% | x random | per seed (median) | at 25% (" + str(anchor) + " labels) | s/run |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for strategy, needed, per_seed, fraction, _, seconds in rows:
        ratio = needed / needed_random if needed_random and np.isfinite(needed) else float("nan")
        lines.append(
            f"| {strategy} | {_fmt(needed)} | {ratio:.2f} | {_fmt(float(np.median(per_seed)))} | {fraction:.1%} | {seconds:.0f} |"
        )
    lines += ["", "Mean curve (" + spec.metric + ") at labels " + ", ".join(str(v) for v in runs[0].labels) + ":"]
    for strategy, *_, metric, _ in rows:
        lines.append(f"  {strategy:>17}: " + " ".join(f"{v:.3f}" for v in metric))
    return lines


def _fmt(value: float) -> str:
    return f"{value:.0f}" if np.isfinite(value) else "not reached"


def _describe(spec: PoolSpec) -> str:
    p = spec.params
    return (
        f"{spec.name}: pool {spec.n_pool}, test {spec.n_test}, input {p.size}x{p.size}, width {p.width}, "
        f"steps {p.epochs} epochs in [{p.min_steps}, {p.max_steps}], "
        f"batch {p.batch_size}, shift {p.shift}; MC passes {spec.mc_passes}; cold start {spec.cold_start} on "
        f"{spec.cold_features}; hybrid: top {spec.hybrid_factor:g}x batch by {spec.hybrid_uncertainty}, then "
        f"{spec.hybrid_diversity}; "
        f"checkpoints {', '.join(str(v) for v in spec.schedule)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 seeds, smaller pools, fewer checkpoints, 4 strategies (a smoke run)"
    )
    parser.add_argument("--seeds", type=int, default=None, help="default 5 (quick: 2)")
    parser.add_argument("--pools", default="views,landmarks,digits")
    parser.add_argument("--strategies", default=None, help="comma-separated subset (random is always run)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--set", action="append", default=[], help="POOL.FIELD=VALUE overrides, e.g. views.hybrid_factor=8"
    )
    args = parser.parse_args()
    seeds = list(range(args.seeds or (2 if args.quick else 5)))
    started = time.perf_counter()

    from media_ingest.synthetic_views import LANDMARKS, VIEWS

    specs = build_specs(args.quick, len(VIEWS), len(LANDMARKS))
    if args.quick and not args.strategies:
        args.strategies = ",".join(QUICK_STRATEGIES)
    specs = {name: specs[name] for name in args.pools.split(",")}
    specs = _overrides(specs, args.set)
    if args.strategies:
        wanted = {"random", *args.strategies.split(",")}
        specs = {k: replace(s, strategies=tuple(x for x in s.strategies if x in wanted)) for k, s in specs.items()}

    print(f"Learning simulation: seeds {seeds}, {args.workers} worker processes x 1 torch thread")
    for spec in specs.values():
        print("  " + _describe(spec))
    with tempfile.TemporaryDirectory(prefix="learning-sim-") as data_dir:
        t0 = time.perf_counter()
        for spec in specs.values():
            for seed in seeds:
                np.savez(Path(data_dir) / f"{spec.name}-{seed}.npz", **make_data(spec, seed))
        print(f"data: {time.perf_counter() - t0:.1f} s")
        tasks = [(pool, "full", seed) for pool in specs for seed in seeds]
        tasks += [(pool, s, seed) for pool, spec in specs.items() for s in spec.strategies for seed in seeds]
        results: dict[tuple[str, str], list[Curve]] = {}
        context = get_context("spawn")
        with ProcessPoolExecutor(
            args.workers, mp_context=context, initializer=_init_worker, initargs=(specs, data_dir)
        ) as pool:
            for name, strategy, seed, curve in pool.map(_task, *zip(*tasks, strict=True)):
                results.setdefault((name, strategy), []).append(curve)
                print(f"  done {name:>9} {strategy:>17} seed {seed}: {curve.seconds:.0f} s", flush=True)

    print()
    for spec in specs.values():
        curves = {s: results[(spec.name, s)] for s in spec.strategies}
        print("\n".join(report(spec, curves, results[(spec.name, "full")])))
        busy = sum(c.seconds for (name, _), cs in results.items() if name == spec.name for c in cs)
        print(f"  compute for {spec.name}: {busy:.0f} s (summed over workers)\n")
    print(f"Runtime: {time.perf_counter() - started:.0f} s wall clock, {args.workers} workers")


def _overrides(specs: dict[str, PoolSpec], settings: list[str]) -> dict[str, PoolSpec]:
    for setting in settings:
        target, value = setting.split("=", 1)
        pool, name = target.split(".", 1)
        spec = specs[pool]
        if hasattr(spec.params, name) and not hasattr(spec, name):
            kind: Callable[[str], object] = type(getattr(spec.params, name))
            specs[pool] = replace(spec, params=replace(spec.params, **{name: kind(value)}))
        else:
            current = getattr(spec, name)
            if isinstance(current, tuple):
                parsed: object = tuple(type(current[0])(v) for v in value.split(","))
            else:
                parsed = type(current)(value)
            specs[pool] = replace(spec, **{name: parsed})
    return specs


if __name__ == "__main__":
    main()
