"""Small torch CNNs for greyscale clip frames: view classifier, landmark heatmaps, quality regressor.

Django-free and CPU only. Every learner takes images as an array ``[n, H, W]`` (uint8 0-255, or
floats in 0-1), resizes them to ``params.size`` and shares one interface:

- ``fit(X, y, ...)`` trains from scratch with ``params.seed`` (same data, same seed, same threads:
  the same weights);
- ``predict`` / ``predict_proba`` run the network once in evaluation mode;
- ``mc_predict(X, passes=T)`` returns ``T`` stochastic passes with the dropout layers active
  (MC dropout [1]_). Dropout lives in the heads only, so the convolutional features are computed
  once and only the heads run ``T`` times: 100 passes cost little more than one;
- ``embed(X)`` returns penultimate-layer embeddings for diversity (also before ``fit``: the
  randomly initialised network then gives the features for a cold start).

Landmark coordinates are ``(x, y)`` in input pixels of the original image, continuous (pixel
``i`` spans ``[i, i + 1)``), as the labelling app stores them; NaN marks a landmark the view
lacks. Absent landmarks are masked out of the heatmap loss and learned by a presence head.

References
----------
.. [1] Gal, Y. and Ghahramani, Z. (2016). "Dropout as a Bayesian approximation: representing model
   uncertainty in deep learning". ICML.
.. [2] Sun, X. et al. (2018). "Integral human pose regression". ECCV (soft-argmax decoding).
.. [3] Nibali, A. et al. (2018). "Numerical coordinate regression with convolutional neural
   networks". arXiv:1801.07372 (coordinate loss on the soft-argmax plus a heatmap term).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from sklearn.decomposition import PCA
from torch import nn

from activelearning.params import TrainParams

__all__ = [
    "KeypointRegressor",
    "LandmarkPrediction",
    "QualityRegressor",
    "TrainParams",
    "ViewClassifier",
    "landmark_uncertainty",
    "pixel_embeddings",
    "prepare_images",
    "project_thumbnails",
    "thumbnails",
]

INFERENCE_CHUNK = 512


@contextmanager
def _torch_context(threads: int, seed: int | None) -> Iterator[None]:
    """Limit torch's threads and, with a seed, fork the global RNG so callers' state is untouched."""
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        if seed is None:
            yield
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                yield
    finally:
        torch.set_num_threads(previous)


def prepare_images(X: NDArray, size: int) -> torch.Tensor:
    """``[n, H, W]`` uint8 (0-255) or float (0-1) -> float tensor ``[n, 1, size, size]`` in 0-1."""
    array = np.asarray(X)
    if array.ndim != 3:
        raise ValueError(f"images must be [n, H, W], got shape {array.shape}")
    scale = 255.0 if array.dtype == np.uint8 else 1.0
    tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32) / np.float32(scale))[:, None]
    if tensor.shape[-2:] != (size, size):
        antialias = tensor.shape[-1] > size
        tensor = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)
    return tensor.contiguous()


def thumbnails(X: NDArray, *, size: int = 16) -> NDArray[np.float64]:
    """``[n, size * size]``: each image shrunk and standardised on its own (so gain and
    depth-brightness do not dominate distances between them)."""
    small = prepare_images(X, size).flatten(1).numpy().astype(np.float64)
    return (small - small.mean(axis=1, keepdims=True)) / (small.std(axis=1, keepdims=True) + 1e-6)


def pixel_embeddings(X: NDArray, *, size: int = 16, components: int = 32, seed: int = 0) -> NDArray[np.float64]:
    """Features for a cold start before any label: ``thumbnails`` projected on their first
    ``components`` principal components. A pool too large to load at once: ``thumbnails`` chunk
    by chunk, then ``project_thumbnails`` on them all (``loop._pixel_features``)."""
    return project_thumbnails(thumbnails(X, size=size), components=components, seed=seed)


def project_thumbnails(small: NDArray, *, components: int = 32, seed: int = 0) -> NDArray[np.float64]:
    """``thumbnails`` on their first ``components`` principal components."""
    components = min(components, *small.shape)
    return PCA(n_components=components, random_state=seed).fit_transform(small)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Encoder(nn.Module):
    """Stride-2 stem then three stages with max pooling: features at 1/2, 1/4, 1/8 and 1/16."""

    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        self.stem = nn.Sequential(
            nn.Conv2d(1, w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)
        )
        self.stage1 = _block(w, w)
        self.stage2 = _block(w, 2 * w)
        self.stage3 = _block(2 * w, 4 * w)
        self.stage4 = _block(4 * w, 8 * w)
        self.channels = 8 * w

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f1 = self.stage1(self.stem(x))
        f2 = self.stage2(F.max_pool2d(f1, 2))
        f3 = self.stage3(F.max_pool2d(f2, 2))
        f4 = self.stage4(F.max_pool2d(f3, 2))
        return [f1, f2, f3, f4]


class DenseHead(nn.Module):
    """pooled features -> dropout -> hidden (the embedding) -> dropout -> outputs."""

    def __init__(self, cin: int, hidden: int, outputs: int, p: float) -> None:
        super().__init__()
        self.hidden = nn.Linear(cin, hidden)
        self.out = nn.Linear(hidden, outputs)
        self.p = p

    def embedding(self, pooled: torch.Tensor, *, mc: bool = False) -> torch.Tensor:
        return F.relu(self.hidden(F.dropout(pooled, self.p, training=self.training or mc)))

    def forward(self, pooled: torch.Tensor, *, mc: bool = False) -> torch.Tensor:
        hidden = self.embedding(pooled, mc=mc)
        return self.out(F.dropout(hidden, self.p, training=self.training or mc))


class _TorchLearner:
    """Training loop, chunked inference and MC passes shared by the three learners."""

    def __init__(self, params: TrainParams) -> None:
        self.params = params
        with _torch_context(params.threads, params.seed):
            self.module = self._build()
        self.module.eval()
        self.fitted = False

    def _build(self) -> nn.Module:
        raise NotImplementedError

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic part of the network (no dropout), whose output the heads consume."""
        raise NotImplementedError

    def _embed_features(self, feats: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _images(self, X: NDArray) -> torch.Tensor:
        return prepare_images(X, self.params.size)

    def _fit(self, x: torch.Tensor, targets: list[torch.Tensor], loss: Callable[..., torch.Tensor]) -> None:
        p = self.params
        n = x.shape[0]
        if n == 0:
            raise ValueError("cannot fit on zero examples")
        with _torch_context(p.threads, p.seed):
            self.module = self._build()  # from scratch: the same labels give the same model
            self.module.train()
            optimiser = torch.optim.AdamW(self.module.parameters(), lr=p.lr, weight_decay=p.weight_decay)
            steps = p.steps(n)
            schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=p.lr, total_steps=steps, pct_start=0.15)
            batch = min(p.batch_size, n)
            order = torch.randperm(n)
            cursor = 0
            for _ in range(steps):
                if cursor + batch > n:
                    order, cursor = torch.randperm(n), 0
                idx = order[cursor : cursor + batch]
                cursor += batch
                xb, tb = self._augment(x[idx], [t[idx] for t in targets])
                optimiser.zero_grad(set_to_none=True)
                loss(xb, *tb).backward()
                optimiser.step()
                schedule.step()
        self.module.eval()
        self.fitted = True

    def _augment(self, x: torch.Tensor, targets: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Random translation by up to ``params.shift`` pixels (zero padding); one shift per batch."""
        s = self.params.shift
        if s <= 0:
            return x, targets
        dx, dy = (int(v) for v in torch.randint(-s, s + 1, (2,)))
        x = torch.roll(F.pad(x, (s, s, s, s)), shifts=(dy, dx), dims=(2, 3))[..., s:-s, s:-s]
        return x, self._shift_targets(targets, dx, dy)

    def _shift_targets(self, targets: list[torch.Tensor], dx: int, dy: int) -> list[torch.Tensor]:
        return targets

    @torch.no_grad()
    def _chunks(
        self, X: NDArray, fn: Callable[[torch.Tensor], torch.Tensor], *, seed: int | None = None, dim: int = 0
    ) -> NDArray:
        """``fn`` over chunks of the images, concatenated along ``dim`` (1 for MC passes)."""
        x = self._images(X)
        with _torch_context(self.params.threads, seed):
            out = [fn(x[start : start + INFERENCE_CHUNK]) for start in range(0, x.shape[0], INFERENCE_CHUNK)]
        return torch.cat(out, dim=dim).numpy()

    def embed(self, X: NDArray) -> NDArray[np.float32]:
        """Penultimate-layer embeddings ``[n, d]`` (evaluation mode)."""
        return self._chunks(X, lambda x: self._embed_features(self._features(x)))

    def _mc_outputs(self, feats: object, passes: int) -> torch.Tensor:
        """``[passes, n, ...]`` head outputs with dropout active, from ``_features``."""
        raise NotImplementedError

    def _mc_finish(self, out: NDArray) -> NDArray[np.float32]:
        return out

    def mc_predict(self, X: NDArray, passes: int = 20, *, seed: int = 0) -> NDArray[np.float32]:
        """``[passes, n, ...]`` outputs with dropout active: softmax ``[T, n, C]`` (views), scores
        ``[T, n]`` (quality), landmark positions ``[T, n, L, 2]`` with NaN where predicted absent."""
        return self.mc_predict_embed(X, passes, seed=seed)[0]

    @torch.no_grad()
    def mc_predict_embed(self, X: NDArray, passes: int = 20, *, seed: int = 0) -> tuple[NDArray, NDArray]:
        """``mc_predict`` and ``embed(X)`` from one run of the convolutions (the loop scores whole
        pools: the encoder is most of the cost). Dropout draws happen only in the heads, so the
        embeddings equal ``embed``'s."""
        x = self._images(X)
        outs, embeddings = [], []
        with _torch_context(self.params.threads, seed):
            # An empty pool still runs once (on no rows), so the outputs keep their shape.
            for start in range(0, max(x.shape[0], 1), INFERENCE_CHUNK):
                feats = self._features(x[start : start + INFERENCE_CHUNK])
                outs.append(self._mc_outputs(feats, passes))
                embeddings.append(self._embed_features(feats))
        return self._mc_finish(torch.cat(outs, dim=1).numpy()), torch.cat(embeddings).numpy()


class _Classifier(nn.Module):
    def __init__(self, width: int, hidden: int, outputs: int, p: float) -> None:
        super().__init__()
        self.encoder = Encoder(width)
        self.head = DenseHead(self.encoder.channels, hidden, outputs, p)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[-1].mean(dim=(2, 3))


class ViewClassifier(_TorchLearner):
    """Softmax classifier of views (or any classes): ``fit(X, y)`` with ``y`` in ``0..n_classes-1``."""

    def __init__(self, n_classes: int, params: TrainParams | None = None, *, hidden: int = 64) -> None:
        self.n_classes = n_classes
        self.hidden = hidden
        super().__init__(params or TrainParams())

    def _build(self) -> nn.Module:
        return _Classifier(self.params.width, self.hidden, self.n_classes, self.params.dropout)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.module.pooled(x)

    def _embed_features(self, feats: torch.Tensor) -> torch.Tensor:
        return self.module.head.embedding(feats)

    def fit(self, X: NDArray, y: NDArray) -> ViewClassifier:
        labels = torch.as_tensor(np.asarray(y), dtype=torch.long)
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise ValueError(f"labels must be in 0..{self.n_classes - 1}")
        self._fit(self._images(X), [labels], lambda x, t: F.cross_entropy(self.module.head(self.module.pooled(x)), t))
        return self

    def predict_proba(self, X: NDArray) -> NDArray[np.float32]:
        return self._chunks(X, lambda x: F.softmax(self.module.head(self._features(x)), dim=1))

    def predict(self, X: NDArray) -> NDArray[np.int64]:
        return self.predict_proba(X).argmax(axis=1)

    def _mc_outputs(self, feats: torch.Tensor, passes: int) -> torch.Tensor:
        return torch.stack([F.softmax(self.module.head(feats, mc=True), dim=1) for _ in range(passes)])


class QualityRegressor(_TorchLearner):
    """Regresses a quality score (for ranking projects: the Glicko-2 rating) from one frame."""

    def __init__(self, params: TrainParams | None = None, *, hidden: int = 64) -> None:
        self.hidden = hidden
        self.centre, self.scale = 0.0, 1.0
        super().__init__(params or TrainParams())

    def _build(self) -> nn.Module:
        return _Classifier(self.params.width, self.hidden, 1, self.params.dropout)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.module.pooled(x)

    def _embed_features(self, feats: torch.Tensor) -> torch.Tensor:
        return self.module.head.embedding(feats)

    def fit(self, X: NDArray, y: NDArray) -> QualityRegressor:
        scores = np.asarray(y, dtype=np.float64)
        self.centre = float(scores.mean())
        self.scale = float(scores.std()) or 1.0
        target = torch.as_tensor((scores - self.centre) / self.scale, dtype=torch.float32)
        self._fit(
            self._images(X), [target], lambda x, t: F.smooth_l1_loss(self.module.head(self.module.pooled(x))[:, 0], t)
        )
        return self

    def predict(self, X: NDArray) -> NDArray[np.float32]:
        out = self._chunks(X, lambda x: self.module.head(self._features(x))[:, 0])
        return (out * self.scale + self.centre).astype(np.float32)

    def _mc_outputs(self, feats: torch.Tensor, passes: int) -> torch.Tensor:
        return torch.stack([self.module.head(feats, mc=True)[:, 0] for _ in range(passes)])

    def _mc_finish(self, out: NDArray) -> NDArray[np.float32]:
        return (out * self.scale + self.centre).astype(np.float32)


class _HeatmapNet(nn.Module):
    """U-Net-like: encoder to 1/16, decoder back to 1/4 with skips; one heatmap per landmark."""

    def __init__(self, width: int, landmarks: int, p: float) -> None:
        super().__init__()
        w = width
        self.encoder = Encoder(w)
        self.up3 = _block(8 * w + 4 * w, 4 * w)
        self.up2 = _block(4 * w + 2 * w, 2 * w)
        self.heatmap = nn.Conv2d(2 * w, landmarks, 1)
        self.presence = nn.Linear(8 * w, landmarks)
        self.p = p

    def trunk(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, f2, f3, f4 = self.encoder(x)
        d3 = self.up3(torch.cat([F.interpolate(f4, size=f3.shape[-2:], mode="nearest"), f3], 1))
        d2 = self.up2(torch.cat([F.interpolate(d3, size=f2.shape[-2:], mode="nearest"), f2], 1))
        return d2, f4.mean(dim=(2, 3))

    def heads(self, d2: torch.Tensor, pooled: torch.Tensor, *, mc: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        active = self.training or mc
        logits = self.heatmap(F.dropout(d2, self.p, training=active))
        return logits, self.presence(pooled)


@dataclass(frozen=True)
class LandmarkPrediction:
    """Landmarks ``[n, L, 2]`` in input pixels (NaN where predicted absent) and presence ``[n, L]``."""

    points: NDArray[np.float32]
    presence: NDArray[np.float32]


class KeypointRegressor(_TorchLearner):
    """Landmark localisation by heatmaps (spatial softmax, soft-argmax), MC dropout per landmark.

    ``fit(X, points)`` with ``points`` ``[n, L, 2]`` in pixels of ``X`` (NaN where a view lacks the
    landmark: those are masked out of the heatmap loss and taught to the presence head).
    """

    def __init__(
        self, n_landmarks: int, params: TrainParams | None = None, *, sigma: float = 1.0, coord_weight: float = 1.0
    ) -> None:
        self.n_landmarks = n_landmarks
        self.sigma = sigma  # of the target distribution, in heatmap pixels
        self.coord_weight = coord_weight
        self.image_side = 0.0
        super().__init__(params or TrainParams())

    def _build(self) -> nn.Module:
        return _HeatmapNet(self.params.width, self.n_landmarks, self.params.dropout)

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.module.trunk(x)

    def _embed_features(self, feats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return feats[1]

    @staticmethod
    def _grid(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Heatmap pixel centres in normalised image coordinates (0-1)."""
        return (torch.arange(w, dtype=torch.float32) + 0.5) / w, (torch.arange(h, dtype=torch.float32) + 0.5) / h

    def _loss(self, x: torch.Tensor, points: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        d2, pooled = self.module.trunk(x)
        logits, presence = self.module.heads(d2, pooled)
        n, landmarks, h, w = logits.shape
        loss = F.binary_cross_entropy_with_logits(presence, present.float())
        if not present.any():
            return loss
        gx, gy = self._grid(h, w)
        logp = F.log_softmax(logits.flatten(2), dim=2).view(n, landmarks, h, w)
        target_x, target_y = points[..., 0, None, None], points[..., 1, None, None]
        s = self.sigma / w
        target = torch.exp(
            -((gx[None, None, None, :] - target_x) ** 2 + (gy[None, None, :, None] - target_y) ** 2) / (2 * s * s)
        )
        target = target / target.sum(dim=(2, 3), keepdim=True).clamp_min(1e-12)
        ce = -(target * logp).sum(dim=(2, 3))  # [n, L]
        prob = logp.exp()
        ex = (prob.sum(2) * gx).sum(-1)
        ey = (prob.sum(3) * gy).sum(-1)
        l1 = (ex - points[..., 0]).abs() + (ey - points[..., 1]).abs()
        per_landmark = ce + self.coord_weight * w * l1
        return loss + per_landmark[present].mean()

    def _shift_targets(self, targets: list[torch.Tensor], dx: int, dy: int) -> list[torch.Tensor]:
        points, present = targets
        offset = torch.tensor([dx, dy], dtype=torch.float32) / self.params.size
        return [points + offset, present]

    def fit(self, X: NDArray, points: NDArray) -> KeypointRegressor:
        images = np.asarray(X)
        pts = np.asarray(points, dtype=np.float32)
        if pts.shape[1:] != (self.n_landmarks, 2):
            raise ValueError(f"points must be [n, {self.n_landmarks}, 2], got {pts.shape}")
        self.image_side = float(images.shape[-1])
        present = ~np.isnan(pts).any(axis=2)
        normalised = np.where(present[..., None], pts / np.float32(self.image_side), 0.0).astype(np.float32)
        self._fit(self._images(images), [torch.from_numpy(normalised), torch.from_numpy(present)], self._loss)
        return self

    def _decode(self, logits: torch.Tensor, window: int = 2) -> torch.Tensor:
        """Soft-argmax within ``window`` heatmap pixels of the argmax: robust to a second mode."""
        n, landmarks, h, w = logits.shape
        prob = F.softmax(logits.flatten(2), dim=2).view(n, landmarks, h, w)
        peak = prob.flatten(2).argmax(2)
        py, px = peak // w, peak % w
        ys = torch.arange(h)[None, None, :]
        xs = torch.arange(w)[None, None, :]
        mask_y = ((ys - py[..., None]).abs() <= window).float()
        mask_x = ((xs - px[..., None]).abs() <= window).float()
        local = prob * mask_y[..., :, None] * mask_x[..., None, :]
        local = local / local.sum(dim=(2, 3), keepdim=True).clamp_min(1e-12)
        gx, gy = self._grid(h, w)
        return torch.stack([(local.sum(2) * gx).sum(-1), (local.sum(3) * gy).sum(-1)], dim=-1)

    def _points(self, normalised: NDArray) -> NDArray[np.float32]:
        return (normalised * np.float32(self.image_side or self.params.size)).astype(np.float32)

    def predict(self, X: NDArray) -> LandmarkPrediction:
        def run(x: torch.Tensor) -> torch.Tensor:
            logits, presence = self.module.heads(*self._features(x))
            return torch.cat([self._decode(logits), torch.sigmoid(presence)[..., None]], dim=-1)

        out = self._chunks(X, run)
        points = self._points(out[..., :2])
        presence = out[..., 2]
        points[presence < 0.5] = np.nan
        return LandmarkPrediction(points=points, presence=presence.astype(np.float32))

    def predict_points(self, X: NDArray) -> NDArray[np.float32]:
        """Every landmark's position, present or not (for scoring against known truth)."""
        return self._points(self._chunks(X, lambda x: self._decode(self.module.heads(*self._features(x))[0])))

    def _mc_outputs(self, feats: tuple[torch.Tensor, torch.Tensor], passes: int) -> torch.Tensor:
        d2, pooled = feats
        present = torch.sigmoid(self.module.presence(pooled)) >= 0.5
        out = torch.stack([self._decode(self.module.heads(d2, pooled, mc=True)[0]) for _ in range(passes)])
        return torch.where(present[None, ..., None], out, torch.full_like(out, float("nan")))

    def _mc_finish(self, out: NDArray) -> NDArray[np.float32]:
        return self._points(out)


def landmark_uncertainty(mc_points: NDArray) -> NDArray[np.float64]:
    """Per-landmark MC-dropout spread ``[n, L]``: the variance of x plus that of y across passes."""
    with np.errstate(invalid="ignore"):
        return np.var(mc_points, axis=0).sum(axis=-1)
