"""Random-order learning curves from bench/learning_simulation.py (5 seeds; its .out.txt), drawn
beside a project's versions in admin so an admin can see whether the queue beats labelling in
random order. Synthetic data: a guide to the shape, not a promise for real clips."""

from __future__ import annotations

RANDOM_CURVES = {
    # metric, higher is better, (labels, value) pairs
    "accuracy": (
        "views (synthetic, 6 classes, 48x48)",
        True,
        [(12, 0.509), (23, 0.675), (45, 0.840), (88, 0.877), (171, 0.949), (331, 0.988), (644, 0.992), (1250, 0.994)],
    ),
    "landmark_error_px": (
        "landmarks (synthetic, 14, 64x64)",
        False,
        [(16, 11.268), (27, 8.253), (47, 5.820), (81, 4.602), (139, 3.839), (250, 3.128), (408, 2.730), (700, 2.474)],
    ),
}
