"""Learner settings and the names of the learner kinds: no torch here, so the web processes and
the media worker can import the loop's bookkeeping without loading torch (about 300 MB each)."""

from __future__ import annotations

import math
from dataclasses import dataclass

VIEW, KEYPOINTS, QUALITY, COLD_START = "view", "keypoints", "quality", "cold_start"


@dataclass(frozen=True)
class TrainParams:
    """How a learner is built and trained.

    ``steps`` gradient steps are ``epochs`` passes over the labelled set, but at least
    ``min_steps`` (a few dozen labels still need a few hundred updates) and at most ``max_steps``.
    """

    size: int = 112  # input side after resizing
    width: int = 16  # channels of the first stage; stages have 1, 2, 4, 8 times this
    dropout: float = 0.5
    epochs: int = 30
    min_steps: int = 200
    max_steps: int = 3000
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    shift: int = 0  # random translation of up to this many input pixels while training
    seed: int = 0
    threads: int = 1

    def steps(self, n: int) -> int:
        return int(min(self.max_steps, max(self.min_steps, math.ceil(self.epochs * n / self.batch_size))))
