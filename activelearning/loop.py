"""One retrain, Django-free: train on the labelled items, validate on held-out studies, score the
pool chunk by chunk with MC dropout, and order the queue. ``activelearning.services`` reads the
labels and images and writes what comes back.

Memory stays bounded at any pool size: images are loaded ``chunk`` rows at a time through the
caller's ``load``, and only per-item results (mean outputs, one uncertainty, an embedding) are
kept, never every MC pass of the whole pool.
"""

from __future__ import annotations

import hashlib
import io
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray

from activelearning.learners import (
    KeypointRegressor,
    QualityRegressor,
    TrainParams,
    ViewClassifier,
    landmark_uncertainty,
    project_thumbnails,
    thumbnails,
)
from activelearning.params import COLD_START, KEYPOINTS, QUALITY, VIEW  # noqa: F401 - loop.VIEW etc.
from activelearning.strategies import UNCERTAINTY, diverse_top, k_center_greedy, min_sq_distances, uncertainty

SOFTMAX_ONLY = {"least_confidence", "margin", "entropy", "bald"}
HELD_OUT_SHARE = 0.2


@dataclass(frozen=True)
class LoopConfig:
    strategy: str = "hybrid"
    passes: int = 20
    head: int = 200  # queue places the diversity step fills; the rest follow by uncertainty
    min_labels: int = 20
    params: TrainParams = field(default_factory=TrainParams)
    chunk: int = 4096


@dataclass
class Outcome:
    kind: str
    strategy: str  # as applied (softmax-only strategies become variance for regressors)
    weights: bytes | None
    metrics: dict
    raw: NDArray  # per pool row: class probabilities [n, C], points [n, L, 2] or scores [n]
    uncertainty: NDArray[np.float64]
    diversity: NDArray[np.float64]  # NaN where the row was not placed by the diversity step
    order: NDArray[np.int64]  # pool rows of the queue, in rank order
    reasons: list[str]  # per queue place
    train_seconds: float = 0.0
    score_seconds: float = 0.0


def held_out(groups: list[str], share: float = HELD_OUT_SHARE) -> NDArray[np.bool_]:
    """Whether each labelled row is held out for validation: by study (``groups``), so clips of one
    study never sit on both sides; the same study always falls on the same side."""
    cut = int(share * 1000)
    return np.array([int(hashlib.sha256(g.encode()).hexdigest()[:8], 16) % 1000 < cut for g in groups], dtype=bool)


def _chunks(rows: NDArray, size: int):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _learner(kind: str, config: LoopConfig, classes: int, landmarks: int):
    if kind == VIEW:
        return ViewClassifier(classes, config.params)
    if kind == KEYPOINTS:
        return KeypointRegressor(landmarks, config.params)
    return QualityRegressor(config.params)


def _validate(learner, kind: str, X: NDArray, y: NDArray) -> dict:
    if len(X) == 0:
        return {}
    if kind == VIEW:
        return {"accuracy": round(float((learner.predict(X) == y).mean()), 4)}
    if kind == KEYPOINTS:
        predicted = learner.predict_points(X)
        present = ~np.isnan(y).any(axis=2)
        if not present.any():
            return {}
        error = np.hypot(*(predicted - np.nan_to_num(y)).transpose(2, 0, 1))[present]
        return {"landmark_error_px": round(float(error.mean()), 3)}
    predicted = learner.predict(X)
    if len(X) < 3 or np.std(y) == 0:
        return {}
    ranks = [np.argsort(np.argsort(v)) for v in (predicted, y)]
    return {"spearman": round(float(np.corrcoef(*ranks)[0, 1]), 4)}


def _weights(module: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getvalue()


def _score_chunk(learner, kind: str, X: NDArray, *, passes: int, strategy: str, seed: int):
    """Mean outputs, uncertainty and embeddings of one chunk."""
    mc, embeddings = learner.mc_predict_embed(X, passes=passes, seed=seed)
    if kind == VIEW:
        probs = mc.mean(axis=0)
        measure = strategy if strategy in UNCERTAINTY else "margin"
        return probs, uncertainty(measure, probs=probs, mc_probs=mc), embeddings
    if kind == KEYPOINTS:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN landmarks: absent in every pass
            points = np.nanmean(mc, axis=0)
            spread = np.nanmean(landmark_uncertainty(mc), axis=1)
        return points, np.nan_to_num(spread, nan=0.0), embeddings
    return mc.mean(axis=0), mc.var(axis=0).astype(np.float64), embeddings


def _pixel_features(load: Callable[[NDArray], NDArray], rows: NDArray, chunk: int, seed: int) -> NDArray:
    """Cold-start features of ``rows`` (``learners.pixel_embeddings``, loaded chunk by chunk)."""
    small = [thumbnails(load(part)) for part in _chunks(rows, chunk)]
    if not small:
        return np.zeros((0, 1))
    return project_thumbnails(np.concatenate(small), seed=seed)


def _nearest(points: NDArray, centres: NDArray) -> NDArray[np.float64]:
    """Distance from each point to its nearest centre (inf with no centres)."""
    return np.sqrt(min_sq_distances(np.asarray(points, np.float64), np.asarray(centres, np.float64)))


def _pick_distances(embeddings: NDArray, picks: NDArray, labelled: NDArray) -> NDArray[np.float64]:
    """For each pick in order: its distance to the nearest labelled item or earlier pick."""
    out = np.empty(len(picks))
    centres = labelled.astype(np.float64)
    for i, row in enumerate(picks):
        out[i] = _nearest(embeddings[[row]], centres)[0]
        centres = np.vstack([centres, embeddings[[row]]]) if len(centres) else embeddings[[row]].astype(np.float64)
    return out


def _order(
    strategy: str,
    *,
    candidates: NDArray,
    scores: NDArray,
    embeddings: NDArray,
    labelled: NDArray,
    head: int,
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], list[str], NDArray[np.float64]]:
    """Queue order over ``candidates`` (pool rows): the strategy's head, then by uncertainty."""
    diversity = np.full(len(scores), np.nan)
    if len(candidates) == 0:
        return candidates.astype(np.int64), [], diversity
    if strategy == "random":
        return rng.permutation(candidates).astype(np.int64), ["random"] * len(candidates), diversity
    by_score = candidates[np.lexsort((candidates, -scores[candidates]))]
    if strategy in ("hybrid", "coreset"):
        cand_emb = embeddings[candidates]
        if strategy == "hybrid":
            picked = diverse_top(scores[candidates], cand_emb, labelled=labelled, batch=head, rng=rng)
            why = "uncertain and diverse"
        else:
            picked = k_center_greedy(cand_emb, head, labelled=labelled)
            why = "diverse (core-set)"
        first = candidates[picked]
        diversity[first] = _pick_distances(embeddings, first, labelled)
        taken = set(first.tolist())
        rest = np.array([row for row in by_score if row not in taken], dtype=np.int64)
        return (
            np.concatenate([first, rest]).astype(np.int64),
            [why] * len(first) + ["uncertainty"] * len(rest),
            diversity,
        )
    return by_score.astype(np.int64), ["uncertainty"] * len(by_score), diversity


def run(
    kind: str,
    *,
    pool_size: int,
    load: Callable[[NDArray], NDArray],
    labelled_rows: NDArray,
    targets: NDArray,
    groups: list[str],
    candidates: NDArray,
    config: LoopConfig,
    classes: int = 0,
    landmarks: int = 0,
) -> Outcome:
    """Train (or cold-start) and score ``pool_size`` rows; ``load(rows)`` gives their images
    ``[len(rows), H, W]``; ``labelled_rows`` and ``targets`` align (view: class indices; keypoints:
    ``[m, L, 2]`` in array pixels, NaN absent; quality: scores); ``candidates`` are the rows that
    may enter the queue."""
    rng = np.random.default_rng(config.params.seed)
    labelled_rows = np.asarray(labelled_rows, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    strategy = config.strategy
    if kind != VIEW and strategy in SOFTMAX_ONLY:
        strategy = "variance"
    if len(labelled_rows) < max(config.min_labels, 2):
        return _cold_start(
            pool_size, load=load, labelled_rows=labelled_rows, candidates=candidates, config=config, rng=rng
        )
    started = time.perf_counter()
    held = held_out(groups)
    if held.all() or (~held).sum() < 2:
        held = np.zeros(len(labelled_rows), dtype=bool)
    X = load(labelled_rows)
    y = np.asarray(targets)
    learner = _learner(kind, config, classes, landmarks)
    learner.fit(X[~held], y[~held])
    metrics = {
        "train": int((~held).sum()),
        "held_out": int(held.sum()),
        "split": f"by study, {int(HELD_OUT_SHARE * 100)}% of studies held out",
        **_validate(learner, kind, X[held], y[held]),
    }
    labelled_emb = learner.embed(X) if len(X) else np.empty((0, 1))
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    raws, scores, embs = [], [], []
    for index, part in enumerate(_chunks(np.arange(pool_size), config.chunk)):
        raw, score, emb = _score_chunk(
            learner, kind, load(part), passes=config.passes, strategy=strategy, seed=config.params.seed + index
        )
        raws.append(raw)
        scores.append(score)
        embs.append(emb)
    raw = np.concatenate(raws) if raws else np.empty(0)
    score = np.concatenate(scores).astype(np.float64) if scores else np.empty(0)
    emb = np.concatenate(embs) if embs else np.empty((0, 1))
    order, reasons, diversity = _order(
        strategy, candidates=candidates, scores=score, embeddings=emb, labelled=labelled_emb, head=config.head, rng=rng
    )
    weights = _weights(learner.module)
    return Outcome(
        kind=kind,
        strategy=strategy,
        weights=weights,
        metrics=metrics,
        raw=raw,
        uncertainty=score,
        diversity=diversity,
        order=order,
        reasons=reasons,
        train_seconds=train_seconds,
        score_seconds=time.perf_counter() - started,
    )


def _cold_start(
    pool_size: int,
    *,
    load: Callable[[NDArray], NDArray],
    labelled_rows: NDArray,
    candidates: NDArray,
    config: LoopConfig,
    rng: np.random.Generator,
) -> Outcome:
    """Too few labels for a model: the queue spreads over the pixels' diversity (greedy k-center
    from the labelled items, or from the medoid), then the rest farthest-first from those picks."""
    started = time.perf_counter()
    rows = np.arange(pool_size)
    features = _pixel_features(load, rows, config.chunk, config.params.seed)
    labelled = features[labelled_rows] if len(labelled_rows) else None
    diversity = np.full(pool_size, np.nan)
    if len(candidates):
        picked = candidates[k_center_greedy(features[candidates], config.head, labelled=labelled)]
        diversity[picked] = _pick_distances(features, picked, features[labelled_rows])
        centres = np.vstack([features[picked], features[labelled_rows]])
        rest = np.setdiff1d(candidates, picked)
        far = _nearest(features[rest], centres)
        diversity[rest] = far
        rest = rest[np.lexsort((rest, -far))]
        order = np.concatenate([picked, rest]).astype(np.int64)
        reasons = ["diverse (cold start)"] * len(picked) + ["far from picks"] * len(rest)
    else:
        order, reasons = candidates.astype(np.int64), []
    return Outcome(
        kind=COLD_START,
        strategy="cold_start",
        weights=None,
        metrics={"labelled": len(labelled_rows), "note": f"fewer than {config.min_labels} labelled items"},
        raw=np.empty(0),
        uncertainty=np.zeros(pool_size),
        diversity=diversity,
        order=order,
        reasons=reasons,
        score_seconds=time.perf_counter() - started,
    )
