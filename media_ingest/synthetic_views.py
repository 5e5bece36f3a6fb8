"""Synthetic echo views with known truth, for measuring view classification and keypoint learning.

Six cartoon transthoracic views (``VIEWS``) are drawn as ingest's 112x112 grey arrays look: a
sector on black, dark blood pools, brighter myocardium, bright valves and pericardium, speckle.
Each frame comes with its view, its landmarks (``LANDMARKS``; ``VIEW_LANDMARKS`` says which view
places which) and a quality in [0, 1]. ``sample_pool`` and ``render_view`` give such frames
directly; ``render_clip`` gives a loop at a scanner frame's size, which
``synthetic.write_synthetic_view_echo`` writes as DICOM.

How a frame is made
-------------------
1. The anatomy is built from a few shapes (ellipses, "bullets" = ellipses cut flat at the base,
   capsules) in a local frame of the heart: the origin is the endocardial tip of the LV cavity
   with +y running to the base (the LV's centre in PSAX). A landmark is a point of those shapes
   (the apex is the bullet's tip, a valve hinge a corner of its cut, where the leaflet is
   attached), computed from the same numbers the shapes are drawn from.
2. One similarity places the heart for its view, another is the scan: depth (zoom about the
   probe), probe rotation and shift; the sector itself stays fixed on the screen. A display map
   then squashes the frame as ingest does when it resizes a wider frame (up to 1.4:1, e.g. 4:3)
   to 112x112, below a blank banner. Pixels and landmarks go through the same matrices. Scans
   that would put a landmark outside the sector are drawn again.
3. Each shape is painted with an edge a pixel wide from an approximate signed distance that is
   exact on the shape's boundary, so a landmark lies on the painted edge to within a pixel.
4. Quality lowers: foreshortening (A4C, A2C, A3C, subcostal: the LV up to 35 % shorter, so its
   tip rounder), off-axis cuts (PSAX: the ring an ellipse), wall dropout, near-field clutter,
   smoky blood, electronic noise and gain error. Depth, rotation, shift, frame aspect, sector
   width, time-gain slope and speckle vary independently of quality.

Coordinates: ``(x, y)`` in continuous pixel coordinates of the output image, the labelling app's
convention: pixel column ``i``, row ``j`` covers ``[i, i + 1) x [j, j + 1)``, so its centre is
``(i + 0.5, j + 0.5)``; resizing a frame scales these coordinates by the size ratio exactly.

Randomness comes only through the ``rng`` argument. No Django here.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

VIEWS: tuple[str, ...] = ("A4C", "A2C", "A3C", "PLAX", "PSAX", "SUBCOSTAL")
LANDMARKS: tuple[str, ...] = (
    "lv_apex",  # endocardial tip of the LV cavity
    "mitral_septal",  # four-chamber mitral annulus: septal hinge
    "mitral_lateral",  # ... lateral hinge
    "tricuspid_septal",  # four-chamber tricuspid annulus: septal hinge
    "tricuspid_lateral",  # ... RV free-wall hinge
    "mitral_inferior",  # two-chamber mitral annulus: inferior hinge
    "mitral_anterior",  # ... anterior hinge
    "mitral_posterior",  # long-axis mitral annulus: posterior leaflet hinge
    "mitral_aortic",  # ... anterior leaflet hinge, where the aortic root's posterior wall meets it
    "aortic_anterior",  # aortic annulus, anterior (septal) cusp hinge
    "aortic_posterior",  # aortic annulus, posterior cusp hinge
    "lv_centre",  # centre of the LV cavity in short axis
    "rv_insertion_anterior",  # short axis: the RV cavity's tips on the LV epicardium
    "rv_insertion_inferior",
)
VIEW_LANDMARKS: dict[str, tuple[str, ...]] = {
    "A4C": ("lv_apex", "mitral_septal", "mitral_lateral", "tricuspid_septal", "tricuspid_lateral"),
    "A2C": ("lv_apex", "mitral_inferior", "mitral_anterior"),
    "A3C": ("lv_apex", "mitral_posterior", "mitral_aortic", "aortic_anterior", "aortic_posterior"),
    "PLAX": ("mitral_posterior", "mitral_aortic", "aortic_anterior", "aortic_posterior"),
    "PSAX": ("lv_centre", "rv_insertion_anterior", "rv_insertion_inferior"),
    "SUBCOSTAL": ("lv_apex", "mitral_septal", "mitral_lateral", "tricuspid_septal", "tricuspid_lateral"),
}

# Depth shown by the sector's radius before zoom: a 16 cm sector, so the LV (0.40-0.48 of the
# radius before foreshortening) is 6.4-7.7 cm long.
DEPTH_MM = 160.0
Point = tuple[float, float]
_EPS = 1e-6


@dataclass(frozen=True)
class ViewPool:
    """``n`` frames with their truth; ``views`` index ``VIEWS``, ``landmarks`` follow ``LANDMARKS``."""

    images: np.ndarray  # uint8 [n, size, size]
    views: np.ndarray  # int64 [n]
    landmarks: np.ndarray  # float32 [n, len(LANDMARKS), 2], NaN where the view has no such landmark
    quality: np.ndarray  # float32 [n] in [0, 1]


@dataclass(frozen=True)
class SyntheticClip:
    """A cine loop from ``render_clip``: ``frames`` uint8 [frames, rows, columns]; ``landmarks`` as
    in ``render_view``, in the frame's pixels; ``mm_per_pixel`` the scan's true pixel spacing."""

    frames: np.ndarray
    landmarks: np.ndarray
    quality: float
    mm_per_pixel: float


# -- shapes: approximate signed distances (negative inside), exact on the boundary ------------------


def _unit(degrees: float) -> np.ndarray:
    """The direction ``degrees`` away from +y (down the screen) towards +x."""
    radians = math.radians(degrees)
    return np.array([math.sin(radians), math.cos(radians)])


def _perp(u: np.ndarray) -> np.ndarray:
    """``u`` turned a quarter towards +x: (0, 1) -> (1, 0)."""
    return np.array([u[1], -u[0]])


def _ellipse_distance(across: np.ndarray, along: np.ndarray, a: float, b: float) -> np.ndarray:
    # (rho - 1) / |grad rho|: first-order distance to the level rho = 1, exact for circles and
    # on the boundary itself, which is where landmarks are taken.
    rho = np.sqrt((across / a) ** 2 + (along / b) ** 2)
    grad = np.sqrt((across / a**2) ** 2 + (along / b**2) ** 2)
    return (rho - 1.0) * rho / np.maximum(grad, _EPS)


@dataclass(frozen=True)
class _Ellipse:
    centre: np.ndarray
    u: np.ndarray  # unit vector of the ``b`` axis; ``a`` lies across it
    a: float
    b: float

    def coords(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Python floats keep float32 grids float32.
        ux, uy = float(self.u[0]), float(self.u[1])
        dx, dy = x - float(self.centre[0]), y - float(self.centre[1])
        return dx * uy - dy * ux, dx * ux + dy * uy

    def bounds(self) -> tuple[float, float, float, float]:
        ux, uy = float(self.u[0]), float(self.u[1])
        half_x, half_y = math.hypot(self.a * uy, self.b * ux), math.hypot(self.a * ux, self.b * uy)
        cx, cy = float(self.centre[0]), float(self.centre[1])
        return cx - half_x, cy - half_y, cx + half_x, cy + half_y

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        across, along = self.coords(x, y)
        return _ellipse_distance(across, along, self.a, self.b)

    def boundary(self, t: np.ndarray) -> np.ndarray:
        v = _perp(self.u)
        return self.centre + np.outer(self.a * np.cos(t), v) + np.outer(self.b * np.sin(t), self.u)


@dataclass(frozen=True)
class _Bullet:
    """A ventricle: an ellipse cut flat at its base. ``apex`` is the tip, ``length`` the distance
    from it to the middle of the base, ``half_width`` half the base; ``k`` sets the cut (0.5: the
    base lies half the ellipse's semi-axis beyond its centre)."""

    apex: np.ndarray
    u: np.ndarray
    length: float
    half_width: float
    k: float

    @property
    def ellipse(self) -> _Ellipse:
        b = self.length / (1 + self.k)
        return _Ellipse(self.apex + b * self.u, self.u, self.half_width / math.sqrt(1 - self.k**2), b)

    @property
    def base(self) -> np.ndarray:
        return self.apex + self.length * self.u

    @property
    def left(self) -> np.ndarray:
        """The base corner on the -perp(u) side."""
        return self.base - self.half_width * _perp(self.u)

    @property
    def right(self) -> np.ndarray:
        return self.base + self.half_width * _perp(self.u)

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ellipse = self.ellipse
        across, along = ellipse.coords(x, y)
        return np.maximum(_ellipse_distance(across, along, ellipse.a, ellipse.b), along - self.k * ellipse.b)

    def bounds(self) -> tuple[float, float, float, float]:
        return self.ellipse.bounds()


@dataclass(frozen=True)
class _Capsule:
    """Points within ``radius`` of the segment ``p0``-``p1``: vessels, and thin ones for leaflets."""

    p0: np.ndarray
    p1: np.ndarray
    radius: float

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ex, ey = float(self.p1[0] - self.p0[0]), float(self.p1[1] - self.p0[1])
        dx, dy = x - float(self.p0[0]), y - float(self.p0[1])
        t = np.clip((dx * ex + dy * ey) / max(ex * ex + ey * ey, _EPS), 0.0, 1.0)
        return np.hypot(dx - t * ex, dy - t * ey) - self.radius

    def bounds(self) -> tuple[float, float, float, float]:
        low, high = np.minimum(self.p0, self.p1) - self.radius, np.maximum(self.p0, self.p1) + self.radius
        return float(low[0]), float(low[1]), float(high[0]), float(high[1])


@dataclass(frozen=True)
class _Grown:
    """A wall: ``shape`` grown by ``by``, optionally kept on the inner side of half-planes
    (``point``, ``normal``): points with ``(p - point) . normal > 0`` are cut away."""

    shape: _Ellipse | _Bullet | _Capsule
    by: float
    cuts: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _cut(self.shape.distance(x, y) - self.by, x, y, self.cuts)

    def bounds(self) -> tuple[float, float, float, float]:
        return _grow(self.shape.bounds(), self.by)


@dataclass(frozen=True)
class _Band:
    """A thin line along ``shape``'s level ``offset`` (pericardium, diaphragm), cut like _Grown."""

    shape: _Ellipse | _Bullet
    offset: float
    half: float
    cuts: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _cut(np.abs(self.shape.distance(x, y) - self.offset) - self.half, x, y, self.cuts)

    def bounds(self) -> tuple[float, float, float, float]:
        return _grow(self.shape.bounds(), self.offset + self.half)


def _cut(
    distance: np.ndarray, x: np.ndarray, y: np.ndarray, cuts: tuple[tuple[np.ndarray, np.ndarray], ...]
) -> np.ndarray:
    for point, normal in cuts:
        nx, ny = float(normal[0]), float(normal[1])
        distance = np.maximum(distance, (x - float(point[0])) * nx + (y - float(point[1])) * ny)
    return distance


def _grow(box: tuple[float, float, float, float], by: float) -> tuple[float, float, float, float]:
    return box[0] - by, box[1] - by, box[2] + by, box[3] + by


Shape = _Ellipse | _Bullet | _Capsule | _Grown | _Band
# (shape, material, space): space "local" is the heart's frame, "scan" the frame before the
# heart's placement (probe at the origin, sector radius 1), for what lies outside the heart (liver).
Layer = tuple[Shape, str, str]


def _leaflet(hinge: np.ndarray, towards: np.ndarray, into: np.ndarray, length: float, angle: float) -> Layer:
    """A leaflet from ``hinge``: at ``angle`` 0 along ``towards`` (closed), turning towards
    ``into`` (open) as the angle grows (degrees)."""
    radians = math.radians(angle)
    direction = math.cos(radians) * towards + math.sin(radians) * into
    return (_Capsule(hinge, hinge + length * direction, 0.0085), "bright", "local")


# -- the views ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Anatomy:
    layers: list[Layer]
    valves: Callable[[float], list[Layer]]  # the leaflets at an opening in [0, 1] (1: mitral open)
    landmarks: dict[str, np.ndarray]  # local coordinates
    placement: np.ndarray  # 3x3, local -> scan


def _similarity(degrees: float, scale: float, translation: np.ndarray | Point) -> np.ndarray:
    """Rotation by ``degrees`` (clockwise on the screen, y down), then scale, then translation."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([[scale * c, -scale * s, translation[0]], [scale * s, scale * c, translation[1]], [0, 0, 1]])


def _transform(matrix: np.ndarray, point: np.ndarray) -> np.ndarray:
    return matrix[:2, :2] @ point + matrix[:2, 2]


def _atrium(ventricle: _Bullet, rng: np.random.Generator, *, gap: float, widen: tuple[float, float]) -> _Ellipse:
    b = rng.uniform(0.10, 0.13)
    a = ventricle.half_width * rng.uniform(*widen)
    return _Ellipse(ventricle.base + (gap + b) * ventricle.u, ventricle.u, a, b)


def _orifice(ventricle: _Bullet, gap: float) -> Layer:
    """Blood joining a ventricle to its atrium through the valve."""
    u = ventricle.u
    return (
        _Capsule(ventricle.base - 0.03 * u, ventricle.base + (gap + 0.03) * u, 0.5 * ventricle.half_width),
        "blood",
        "local",
    )


def _four_chamber(rng: np.random.Generator, degradation: float) -> tuple[list[Layer], Callable, dict[str, np.ndarray]]:
    """LV on +x with its apex at the origin, RV on -x, atria beyond the valves (+y)."""
    foreshortening = degradation * rng.uniform(0.4, 1.0)
    length = rng.uniform(0.40, 0.47) * (1 - 0.35 * foreshortening)
    lv = _Bullet(np.zeros(2), _unit(rng.uniform(8, 15)), length, rng.uniform(0.085, 0.105), rng.uniform(0.45, 0.6))
    u, v = lv.u, _perp(lv.u)
    ur = _unit(-rng.uniform(14, 24))
    vr = _perp(ur)
    half_rv = rng.uniform(0.075, 0.09)
    rv_length = length * rng.uniform(0.62, 0.72)
    rv_k = rng.uniform(0.4, 0.55)
    septum = rng.uniform(0.065, 0.08)
    # The tricuspid septal hinge a little apical to the mitral, then the RV moved out along -v
    # until the septum (the nearest RV boundary point to the LV cavity) is ``septum`` thick.
    tricuspid_septal = lv.left - 0.06 * v - 0.025 * u
    t = np.linspace(-math.pi, math.pi, 721)
    for _ in range(4):
        rv = _Bullet(tricuspid_septal - half_rv * vr - rv_length * ur, ur, rv_length, half_rv, rv_k)
        edge = rv.ellipse.boundary(t)
        edge = edge[(edge - rv.ellipse.centre) @ ur <= rv_k * rv.ellipse.b]
        thinnest = float(lv.distance(edge[:, 0], edge[:, 1]).min())
        tricuspid_septal = tricuspid_septal - (septum - thinnest) * v
    rv = _Bullet(tricuspid_septal - half_rv * vr - rv_length * ur, ur, rv_length, half_rv, rv_k)
    gap = 0.018
    la = _atrium(lv, rng, gap=gap, widen=(1.0, 1.2))
    ra = _atrium(rv, rng, gap=gap, widen=(1.05, 1.25))
    wall = rng.uniform(0.05, 0.065)
    lv_ellipse = lv.ellipse
    layers: list[Layer] = [
        (_Grown(la, 0.022), "thin", "local"),
        (_Grown(ra, 0.022), "thin", "local"),
        (_Grown(rv, 0.035, ((rv.base + gap * ur, ur),)), "myo", "local"),
        (_Grown(lv, wall, ((lv.base + gap * u, u),)), "myo", "local"),
        (
            _Band(lv_ellipse, wall + 0.022, 0.009, ((lv.base, u), (lv_ellipse.centre + 0.3 * lv_ellipse.a * v, -v))),
            "peri",
            "local",
        ),
        (la, "blood", "local"),
        (ra, "blood", "local"),
        (lv, "blood", "local"),
        (rv, "blood", "local"),
        _orifice(lv, gap),
        _orifice(rv, gap),
    ]

    def valves(opening: float) -> list[Layer]:
        angle = -12 + 82 * opening
        mitral = 2 * lv.half_width
        tricuspid = 2 * rv.half_width
        return [
            _leaflet(lv.left, v, -u, 0.55 * mitral, angle),
            _leaflet(lv.right, -v, -u, 0.45 * mitral, angle),
            _leaflet(rv.right, -vr, -ur, 0.5 * tricuspid, angle),
            _leaflet(rv.left, vr, -ur, 0.5 * tricuspid, angle),
        ]

    landmarks = {
        "lv_apex": lv.apex,
        "mitral_septal": lv.left,
        "mitral_lateral": lv.right,
        "tricuspid_septal": rv.right,
        "tricuspid_lateral": rv.left,
    }
    return layers, valves, landmarks


def _a4c(rng: np.random.Generator, degradation: float) -> _Anatomy:
    layers, valves, landmarks = _four_chamber(rng, degradation)
    apex = (rng.uniform(-0.02, 0.04), rng.uniform(0.1, 0.14))
    return _Anatomy(layers, valves, landmarks, _similarity(rng.uniform(-6, 6), rng.uniform(0.92, 1.05), apex))


def _subcostal(rng: np.random.Generator, degradation: float) -> _Anatomy:
    """The four chambers from below the ribs: liver in the near field, the heart under the
    diaphragm with its apex to the right and the RV uppermost."""
    layers, valves, landmarks = _four_chamber(rng, degradation)
    liver = _Ellipse(
        np.array([rng.uniform(-0.1, 0.1), rng.uniform(-0.12, -0.05)]),
        _unit(rng.uniform(-8, 8)),
        0.75,
        rng.uniform(0.4, 0.46),
    )
    outside = [
        (liver, "liver", "scan"),
        (_Band(liver, 0.0, 0.012), "peri", "scan"),
    ]
    apex = (rng.uniform(0.25, 0.31), rng.uniform(0.5, 0.56))
    placement = _similarity(70 + rng.uniform(-8, 8), rng.uniform(0.78, 0.88), apex)
    return _Anatomy(outside + layers, valves, landmarks, placement)


@dataclass(frozen=True)
class _Parts:
    """What lies beyond a long-axis LV's base: walls and blood to paint (walls first), the
    leaflets at an opening, the landmarks, and the LA (PLAX places more around it)."""

    walls: list[Layer]
    blood: list[Layer]
    valves: Callable[[float], list[Layer]]
    landmarks: dict[str, np.ndarray]
    la: _Ellipse


def _long_axis_lv(rng: np.random.Generator, degradation: float, length: tuple[float, float]) -> _Bullet:
    """The LV of the long-axis views: apex at the origin, +y to the base, +x anterior."""
    foreshortening = degradation * rng.uniform(0.4, 1.0)
    return _Bullet(
        np.zeros(2),
        _unit(rng.uniform(-5, 5)),
        rng.uniform(*length) * (1 - 0.35 * foreshortening),
        rng.uniform(0.09, 0.11),
        rng.uniform(0.45, 0.6),
    )


def _two_chamber(rng: np.random.Generator, lv: _Bullet, gap: float) -> _Parts:
    """The LA beyond the whole base, its appendage on the anterior side, the coronary sinus by
    the inferior hinge."""
    u, v = lv.u, _perp(lv.u)
    la = _atrium(lv, rng, gap=gap, widen=(1.0, 1.2))
    appendage = _Ellipse(lv.right + 0.05 * v + 0.075 * u, _unit(_degrees(u) + 35), 0.028, 0.055)
    sinus_at = lv.left - 0.055 * v + 0.03 * u
    sinus = _Capsule(sinus_at, sinus_at, rng.uniform(0.018, 0.025))
    walls: list[Layer] = [
        (_Grown(la, 0.022), "thin", "local"),
        (_Grown(appendage, 0.018), "thin", "local"),
        (_Grown(sinus, 0.015), "wall", "local"),
    ]
    blood: list[Layer] = [(la, "blood", "local"), (appendage, "blood", "local"), (sinus, "blood", "local")]

    def valves(opening: float) -> list[Layer]:
        angle = -12 + 82 * opening
        return [
            _leaflet(lv.left, v, -u, 0.9 * lv.half_width, angle),
            _leaflet(lv.right, -v, -u, 1.1 * lv.half_width, angle),
        ]

    landmarks = {"mitral_inferior": lv.left, "mitral_anterior": lv.right}
    return _Parts(walls, [*blood, _orifice(lv, gap)], valves, landmarks, la)


def _outflow(rng: np.random.Generator, lv: _Bullet, gap: float, aortic_angle: tuple[float, float]) -> _Parts:
    """The aortic root leaving the anterior part of the base at ``aortic_angle`` (degrees) from
    the LV's axis; the mitral orifice is the posterior part; the LA lies behind the root."""
    u, v = lv.u, _perp(lv.u)
    beta = math.radians(rng.uniform(*aortic_angle))
    w = math.cos(beta) * u + math.sin(beta) * v  # along the root
    n = math.cos(beta) * v - math.sin(beta) * u  # across the root, anterior
    radius = rng.uniform(0.05, 0.062)
    start = lv.base + 0.55 * lv.half_width * v - 0.04 * u
    root = _Capsule(start, start + rng.uniform(0.24, 0.32) * w, radius)
    # The root's posterior wall meets the base line at the anterior leaflet's hinge.
    t_hinge = -float((start - radius * n - lv.base) @ u) / math.cos(beta)
    mitral_aortic = start - radius * n + t_hinge * w
    t_annulus = t_hinge + rng.uniform(0.05, 0.07)
    aortic_anterior = start + radius * n + t_annulus * w
    aortic_posterior = start - radius * n + t_annulus * w
    # The LA clear of the root's posterior wall at the atrium's depth.
    b, a = rng.uniform(0.10, 0.13), rng.uniform(0.10, 0.125)
    t_wall = (gap + b + 0.04 - radius * math.sin(beta)) / math.cos(beta)
    wall_across = float((start - radius * n + t_wall * w - lv.base) @ v)
    across = min(0.5 * (float((mitral_aortic - lv.base) @ v) - lv.half_width), wall_across - 0.035 - a)
    la = _Ellipse(lv.base + (gap + b) * u + across * v, u, a, b)
    orifice_mid = 0.5 * (lv.left + mitral_aortic)
    orifice_half = 0.5 * float(np.linalg.norm(mitral_aortic - lv.left))
    orifice = _Capsule(orifice_mid - 0.03 * u, orifice_mid + (gap + 0.03) * u, 0.5 * orifice_half)

    def valves(opening: float) -> list[Layer]:
        angle = -12 + 82 * opening
        aortic = 90 - 80 * opening  # the aortic valve opens as the mitral closes
        return [
            _leaflet(lv.left, v, -u, 0.9 * orifice_half, angle),
            _leaflet(mitral_aortic, -v, -u, 1.1 * orifice_half, angle),
            _leaflet(aortic_anterior, w, -n, 0.85 * radius, aortic),
            _leaflet(aortic_posterior, w, n, 0.85 * radius, aortic),
        ]

    landmarks = {
        "mitral_posterior": lv.left,
        "mitral_aortic": mitral_aortic,
        "aortic_anterior": aortic_anterior,
        "aortic_posterior": aortic_posterior,
    }
    walls: list[Layer] = [(_Grown(root, 0.02), "wall", "local"), (_Grown(la, 0.022), "thin", "local")]
    blood: list[Layer] = [(root, "blood", "local"), (la, "blood", "local"), (orifice, "blood", "local")]
    return _Parts(walls, blood, valves, landmarks, la)


_GAP = 0.018  # between a ventricle's base line and its atrium


def _lv_layers(lv: _Bullet, rng: np.random.Generator) -> tuple[tuple[_Grown, str, str], Layer]:
    """The LV's wall (stopping at the valve plane) and its blood."""
    wall = _Grown(lv, rng.uniform(0.05, 0.068), ((lv.base + _GAP * lv.u, lv.u),))
    return (wall, "myo", "local"), (lv, "blood", "local")


def _a2c(rng: np.random.Generator, degradation: float) -> _Anatomy:
    lv = _long_axis_lv(rng, degradation, (0.42, 0.48))
    wall, blood = _lv_layers(lv, rng)
    parts = _two_chamber(rng, lv, _GAP)
    apex = (rng.uniform(-0.03, 0.03), rng.uniform(0.09, 0.13))
    placement = _similarity(rng.uniform(-6, 6), rng.uniform(0.92, 1.05), apex)
    layers = [wall, *parts.walls, blood, *parts.blood]
    return _Anatomy(layers, parts.valves, {"lv_apex": lv.apex, **parts.landmarks}, placement)


def _a3c(rng: np.random.Generator, degradation: float) -> _Anatomy:
    lv = _long_axis_lv(rng, degradation, (0.42, 0.48))
    wall, blood = _lv_layers(lv, rng)
    parts = _outflow(rng, lv, _GAP, (35, 50))
    apex = (rng.uniform(-0.07, -0.01), rng.uniform(0.09, 0.13))
    placement = _similarity(rng.uniform(-6, 6), rng.uniform(0.92, 1.05), apex)
    layers = [wall, *parts.walls, blood, *parts.blood]
    return _Anatomy(layers, parts.valves, {"lv_apex": lv.apex, **parts.landmarks}, placement)


def _degrees(u: np.ndarray) -> float:
    """The inverse of ``_unit``."""
    return math.degrees(math.atan2(float(u[0]), float(u[1])))


def _plax(rng: np.random.Generator, degradation: float) -> _Anatomy:
    """The long axis from the left sternal edge: RV outflow uppermost, the LV running off to the
    left with its apex out of the sector, the aortic root to the right over the LA."""
    lv = _long_axis_lv(rng, 0.0, (0.5, 0.58))  # the apex is out of the sector, or nearly: no foreshortening
    lv_wall, lv_blood = _lv_layers(lv, rng)
    parts = _outflow(rng, lv, _GAP, (8, 20))
    la = parts.la
    u, v = lv.u, _perp(lv.u)
    lv_a = lv.ellipse.a
    wall = lv_wall[0].by
    rv = _Ellipse(
        lv.apex + rng.uniform(0.5, 0.65) * lv.length * u + (lv_a + wall + rng.uniform(0.035, 0.05) + 0.055) * v,
        _unit(_degrees(u) + rng.uniform(-4, 2)),
        rng.uniform(0.045, 0.065),
        rng.uniform(0.3, 0.38),
    )
    across = -(lv_a + wall + 0.028)
    pericardium = _Capsule(
        lv.apex + 0.1 * lv.length * u + across * v, lv.base + 0.02 * u + across * v, rng.uniform(0.01, 0.016)
    )
    descending = _Capsule(la.centre - (la.a + 0.06) * v + 0.03 * u, la.centre - (la.a + 0.06) * v + 0.03 * u, 0.032)
    layers: list[Layer] = [
        lv_wall,
        *parts.walls,
        (_Grown(rv, 0.03), "thin", "local"),
        (_Grown(descending, 0.016), "wall", "local"),
        lv_blood,
        *parts.blood,
        (rv, "blood", "local"),
        (descending, "blood", "local"),
        (pericardium, "peri", "local"),
    ]
    degrees = 90 + rng.uniform(5, 18)
    scale = rng.uniform(0.9, 1.02)
    base = np.array([rng.uniform(0.04, 0.12), rng.uniform(0.42, 0.5)])
    rotation = _similarity(-degrees, scale, (0.0, 0.0))
    placement = _similarity(-degrees, scale, base - _transform(rotation, lv.base))
    return _Anatomy(layers, parts.valves, parts.landmarks, placement)


def _psax(rng: np.random.Generator, degradation: float) -> _Anatomy:
    """Short axis at the papillary muscles: the LV a ring, the RV a crescent on its upper left."""
    radius = rng.uniform(0.12, 0.15)
    lv = _Ellipse(
        np.zeros(2), _unit(rng.uniform(0, 180)), radius, radius * (1 - 0.3 * degradation * rng.uniform(0.5, 1))
    )
    wall = rng.uniform(0.06, 0.078)
    towards_rv = _unit(180 + rng.uniform(40, 60))  # up and to the left
    rv_radial, rv_across = rng.uniform(0.14, 0.18), rng.uniform(0.26, 0.32)
    distance = radius + wall + rng.uniform(0.07, 0.1) - rv_radial
    rv = _Ellipse(distance * towards_rv, towards_rv, rv_across, rv_radial)
    epicardium = _Grown(lv, wall)
    # The crescent's tips: where the RV's boundary crosses the LV's painted epicardium.
    t = np.linspace(-math.pi, math.pi, 4001)
    points = rv.boundary(t)
    level = epicardium.distance(points[:, 0], points[:, 1])
    crossings = np.nonzero(np.diff(np.sign(level)) != 0)[0]
    tips = [points[i] + (points[i + 1] - points[i]) * level[i] / (level[i] - level[i + 1]) for i in crossings]
    if len(tips) != 2:
        raise RuntimeError(f"the RV crosses the LV epicardium {len(tips)} times")
    # Anterior: the tip on the clockwise side of the RV's direction (towards the top of the screen).
    side = [float(tip[0] * towards_rv[1] - tip[1] * towards_rv[0]) for tip in tips]
    anterior, inferior = (tips[0], tips[1]) if side[0] < side[1] else (tips[1], tips[0])
    away = -towards_rv
    papillary = [
        _Capsule(c, c, rng.uniform(0.022, 0.03))
        for c in (0.72 * radius * _unit(_degrees(away) + sign * rng.uniform(35, 55)) for sign in (-1, 1))
    ]
    layers: list[Layer] = [
        (_Grown(rv, 0.03), "thin", "local"),
        (rv, "blood", "local"),
        (epicardium, "myo", "local"),
        (_Band(lv, wall + 0.02, 0.01, ((np.zeros(2), towards_rv),)), "peri", "local"),
        (lv, "blood", "local"),
        *[(p, "myo", "local") for p in papillary],
    ]
    landmarks = {"lv_centre": lv.centre, "rv_insertion_anterior": anterior, "rv_insertion_inferior": inferior}
    centre = (rng.uniform(0.02, 0.08), rng.uniform(0.47, 0.54))
    return _Anatomy(
        layers, lambda opening: [], landmarks, _similarity(rng.uniform(-10, 10), rng.uniform(0.92, 1.08), centre)
    )


_BUILDERS: dict[str, Callable[[np.random.Generator, float], _Anatomy]] = {
    "A4C": _a4c,
    "A2C": _a2c,
    "A3C": _a3c,
    "PLAX": _plax,
    "PSAX": _psax,
    "SUBCOSTAL": _subcostal,
}


# -- the scan: layout, transforms, degradations -------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """The output frame: ``height`` x ``width`` pixels; ``display`` maps the scanner's native frame
    (where the sector is a true circular fan) onto it."""

    height: int
    width: int
    display: np.ndarray  # 3x3, native px -> output px
    probe: Point  # native px
    radius: float  # native px
    half_angle: float  # radians


def _square_layout(rng: np.random.Generator, size: int) -> _Layout:
    """A frame as ingest's ``size`` x ``size`` array of a scanner frame of random aspect (1 to
    1.4, e.g. 4:3) with a blank banner of up to 8 % of its height."""
    aspect = rng.uniform(1.0, 1.4)
    banner = rng.uniform(0.0, 0.08) * size
    probe_y = banner + 0.015 * size
    display = np.diag([1 / aspect, 1.0, 1.0])
    return _Layout(
        size,
        size,
        display,
        (size * aspect / 2, probe_y),
        size - probe_y - 0.015 * size,
        math.radians(rng.uniform(36, 44)),
    )


def _frame_layout(rng: np.random.Generator, *, rows: int, columns: int, banner: int) -> _Layout:
    """A native scanner frame: the sector's tip 4 px below the banner, its radius to 4 px above
    the bottom (as ``synthetic.write_synthetic_echo`` lays out its sector)."""
    radius = rows - banner - 8
    half = min(math.radians(rng.uniform(36, 44)), math.asin(min(1.0, (columns / 2 - 2) / radius)))
    return _Layout(rows, columns, np.eye(3), (columns / 2, banner + 4), radius, half)


@dataclass(frozen=True)
class _Scan:
    """Everything random about one frame or clip except the speckle itself."""

    anatomy: _Anatomy
    layout: _Layout
    to_pixels: np.ndarray  # 3x3, local -> output px
    scan_to_pixels: np.ndarray  # 3x3, scan -> output px
    quality: float
    materials: dict[str, float]
    gain: float
    tgc_slope: float
    noise: float
    speckle: float
    dropout: float
    clutter: float
    opening: float
    landmarks: np.ndarray = field(repr=False)  # [len(LANDMARKS), 2], NaN where absent


def _in_sector(layout: _Layout, native: np.ndarray, margin: float) -> bool:
    q = (native - np.array(layout.probe)) / layout.radius
    r = np.hypot(q[:, 0], q[:, 1])
    angle = np.abs(np.arctan2(q[:, 0], q[:, 1]))
    return bool(np.all(r < 1 - margin) and np.all(angle < layout.half_angle - margin / np.maximum(r, _EPS)))


def _sample_scan(view: str, rng: np.random.Generator, layout: _Layout, quality: float | None) -> _Scan:
    if view not in _BUILDERS:
        raise ValueError(f"view must be one of {VIEWS}")
    if quality is not None and not 0.0 <= quality <= 1.0:
        raise ValueError("quality must lie in [0, 1]")
    q = float(rng.uniform(0.0, 1.0)) if quality is None else float(quality)
    degradation = 1.0 - q
    names = VIEW_LANDMARKS[view]
    native_from_scan = np.array([[layout.radius, 0, layout.probe[0]], [0, layout.radius, layout.probe[1]], [0, 0, 1]])
    anatomy, scan = _fit(view, rng, degradation, layout, native_from_scan)
    local = np.array([anatomy.landmarks[name] for name in names])
    scan_to_pixels = layout.display @ native_from_scan @ scan
    to_pixels = scan_to_pixels @ anatomy.placement
    landmarks = np.full((len(LANDMARKS), 2), np.nan)
    for name, point in zip(names, _apply(to_pixels, local), strict=True):
        landmarks[LANDMARKS.index(name)] = point
    materials = {
        "tissue": rng.uniform(0.12, 0.2),
        "myo": rng.uniform(0.36, 0.48),
        "blood": 0.03 + 0.06 * degradation * rng.uniform(0, 1),
        "bright": rng.uniform(0.75, 0.9),
        "liver": rng.uniform(0.26, 0.34),
    }
    materials |= {"thin": 0.8 * materials["myo"], "wall": 0.85 * materials["bright"], "peri": 0.9 * materials["bright"]}
    return _Scan(
        anatomy=anatomy,
        layout=layout,
        to_pixels=to_pixels,
        scan_to_pixels=scan_to_pixels,
        quality=q,
        materials=materials,
        gain=float(np.clip(math.exp(rng.normal(0, 0.06 + 0.3 * degradation)), 0.5, 1.8)),
        tgc_slope=rng.uniform(0.2, 0.5),
        noise=0.015 + 0.06 * degradation * rng.uniform(0.5, 1),
        speckle=rng.uniform(0.6, 0.75) + 0.25 * degradation,
        dropout=0.9 * degradation * rng.uniform(0.5, 1),
        clutter=0.25 * degradation * rng.uniform(0.3, 1),
        opening=rng.uniform(0, 1),
        landmarks=landmarks.astype(np.float32),
    )


def _fit(
    view: str, rng: np.random.Generator, degradation: float, layout: _Layout, native_from_scan: np.ndarray
) -> tuple[_Anatomy, np.ndarray]:
    """An anatomy and a scan (depth as zoom about the probe, probe rotation, shift) that put every
    landmark inside the sector and the frame: scans are drawn from the full ranges first, then
    from narrower ones at lower zoom (a deeper sector), then a new anatomy is drawn."""
    inverse_display = np.linalg.inv(layout.display)
    limit = np.array([layout.width, layout.height]) - 2
    for _ in range(10):
        anatomy = _BUILDERS[view](rng, degradation)
        local = np.array([anatomy.landmarks[name] for name in VIEW_LANDMARKS[view]])
        for attempt in range(40):
            spread = 1.0 if attempt < 20 else (40 - attempt) / 20
            zoom = rng.uniform(0.82, 1.18) if attempt < 20 else rng.uniform(0.65, 0.82)
            scan = _similarity(
                spread * rng.uniform(-10, 10),
                zoom,
                spread * np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.04, 0.04)]),
            )
            pixels = _apply(layout.display @ native_from_scan @ scan @ anatomy.placement, local)
            if np.all((pixels >= 2) & (pixels <= limit)) and _in_sector(layout, _apply(inverse_display, pixels), 0.03):
                return anatomy, scan
    raise ValueError(f"a {layout.width} x {layout.height} frame cannot hold the {view} landmarks")


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:2, :2].T + matrix[:2, 2]


# -- painting -------------------------------------------------------------------------------------------


class _Canvas:
    """The output grid in local and scan coordinates, with the sector and the depth of each pixel."""

    def __init__(self, scan: _Scan) -> None:
        layout = scan.layout
        self.to_pixels, self.scan_to_pixels = scan.to_pixels, scan.scan_to_pixels
        xs, ys = _pixel_centres(layout.height, layout.width)
        self.local = self._map(np.linalg.inv(scan.to_pixels), xs, ys)
        self.scan = self._map(np.linalg.inv(scan.scan_to_pixels), xs, ys)
        self.local_scale = math.sqrt(abs(np.linalg.det(scan.to_pixels[:2, :2])))
        self.scan_scale = math.sqrt(abs(np.linalg.det(scan.scan_to_pixels[:2, :2])))
        nx, ny = self._map(np.linalg.inv(layout.display), xs, ys)
        qx, qy = (nx - layout.probe[0]) / layout.radius, (ny - layout.probe[1]) / layout.radius
        self.depth = np.hypot(qx, qy)
        angle = np.abs(np.arctan2(qx, qy))
        outside = np.maximum(self.depth - 1, (angle - layout.half_angle) * self.depth) * layout.radius
        self.sector = np.clip(0.5 - outside * float(np.sqrt(abs(np.linalg.det(layout.display[:2, :2])))), 0, 1)

    @staticmethod
    def _map(matrix: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = matrix.astype(np.float32)
        return m[0, 0] * xs + m[0, 1] * ys + m[0, 2], m[1, 0] * xs + m[1, 1] * ys + m[1, 2]

    def paint(self, echo: np.ndarray, layers: list[Layer], values: dict[str, float | np.ndarray]) -> None:
        """Paint each layer over ``echo`` in turn, only within its bounding box (plus a pixel)."""
        height, width = echo.shape
        for shape, material, space in layers:
            x, y = self.local if space == "local" else self.scan
            scale = self.local_scale if space == "local" else self.scan_scale
            matrix = self.to_pixels if space == "local" else self.scan_to_pixels
            x0, y0, x1, y1 = shape.bounds()
            corners = _apply(matrix, np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]]))
            c0, r0 = np.floor(corners.min(axis=0)).astype(int) - 1
            c1, r1 = np.ceil(corners.max(axis=0)).astype(int) + 2
            rows, cols = slice(max(r0, 0), min(r1, height)), slice(max(c0, 0), min(c1, width))
            if rows.start >= rows.stop or cols.start >= cols.stop:
                continue
            value = values[material]
            if isinstance(value, np.ndarray):
                value = value[rows, cols]
            cover = np.clip(0.5 - shape.distance(x[rows, cols], y[rows, cols]) * scale, 0.0, 1.0)
            patch = echo[rows, cols]
            patch += cover * (value - patch)


@functools.lru_cache(maxsize=8)
def _pixel_centres(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    xs.flags.writeable = ys.flags.writeable = False
    return xs, ys


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    coarse = rng.uniform(0, 1, (cells, cells)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC), 0, 1)


def _speckle(rng: np.random.Generator, shape: tuple[int, int], grain: float) -> np.ndarray:
    """Unit-mean, unit-spread speckle: Rayleigh amplitudes blurred to grains of ``grain`` px,
    longer across the beam than along it."""
    raw = rng.rayleigh(1.0, shape).astype(np.float32)
    blurred = cv2.GaussianBlur(raw, (0, 0), sigmaX=max(0.4, 1.4 * grain), sigmaY=max(0.3, 0.8 * grain))
    return (blurred - blurred.mean()) / max(float(blurred.std()), _EPS)


def _draw(scan: _Scan, rng: np.random.Generator, frames: int, *, clean: bool) -> np.ndarray:
    """``frames`` frames of one scan (uint8 [frames, height, width]): the same anatomy and
    landmarks, the valves moving through one cycle, the speckle slowly decorrelating."""
    layout = scan.layout
    shape = (layout.height, layout.width)
    canvas = _Canvas(scan)
    # Every random field is drawn even when ``clean`` leaves it out: the same seed then gives the
    # same geometry either way.
    dropout = 1 - scan.dropout * _smooth_field(rng, shape, 4) ** 1.5
    grain = 0.007 * canvas.scan_scale
    speckles = [_speckle(rng, shape, grain) for _ in range(1 if frames == 1 else 2)]
    noises = rng.standard_normal((frames, *shape), dtype=np.float32)
    values: dict[str, float | np.ndarray] = dict(scan.materials)
    if not clean:
        for material in ("myo", "thin", "bright", "wall", "peri"):
            values[material] = scan.materials[material] * dropout
    echo = np.full(shape, scan.materials["tissue"], dtype=np.float32)
    canvas.paint(echo, scan.anatomy.layers, values)
    tgc = np.clip(1.05 - scan.tgc_slope * canvas.depth, 0.3, 1.05) * canvas.sector
    clutter = scan.clutter * np.exp(-canvas.depth / 0.3)
    out = np.empty((frames, *shape), dtype=np.uint8)
    for index in range(frames):
        phase = 2 * math.pi * index / max(frames, 1)
        opening = scan.opening if frames == 1 else 0.5 - 0.5 * math.cos(phase)
        frame = echo.copy()
        canvas.paint(frame, scan.anatomy.valves(opening), values)
        if not clean:
            speckle = (
                speckles[0] if frames == 1 else math.cos(phase / 2) * speckles[0] + math.sin(phase / 2) * speckles[1]
            )
            frame *= np.maximum(1 + 0.5 * scan.speckle * speckle, 0.05)
            frame += clutter + scan.noise * noises[index]
        frame *= scan.gain * tgc
        out[index] = np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


# -- public -------------------------------------------------------------------------------------------


def render_view(
    view: str, rng: np.random.Generator, *, size: int = 112, quality: float | None = None, clean: bool = False
) -> tuple[np.ndarray, np.ndarray, float]:
    """One frame (uint8 ``size`` x ``size``), its landmarks (``len(LANDMARKS)`` x 2, float32, NaN
    where the view has none) and its quality (drawn uniformly in [0, 1] unless given).

    ``clean=True`` leaves out speckle, electronic noise, wall dropout and clutter (for tests that
    read the anatomy from the pixels); the same rng state gives the same geometry either way.
    """
    scan = _sample_scan(view, rng, _square_layout(rng, size), quality)
    return _draw(scan, rng, 1, clean=clean)[0], scan.landmarks, scan.quality


def render_clip(
    view: str,
    rng: np.random.Generator,
    *,
    frames: int,
    rows: int,
    columns: int,
    banner: int,
    quality: float | None = None,
    clean: bool = False,
) -> SyntheticClip:
    """A cine loop in a native scanner frame, black above ``banner``: one beat of valve motion
    (frame 0 mitral valve closed, frame ``frames // 2`` open) over fixed anatomy, so one set of
    landmarks (in the frame's pixels) holds for every frame. ``clean`` as in ``render_view``."""
    layout = _frame_layout(rng, rows=rows, columns=columns, banner=banner)
    scan = _sample_scan(view, rng, layout, quality)
    # The sector's radius shows DEPTH_MM at zoom 1; the scan's zoom is its scale from scan units.
    mm_per_pixel = DEPTH_MM / math.sqrt(abs(np.linalg.det(scan.scan_to_pixels[:2, :2])))
    return SyntheticClip(_draw(scan, rng, frames, clean=clean), scan.landmarks, scan.quality, mm_per_pixel)


def sample_pool(n: int, *, seed: int, size: int = 112) -> ViewPool:
    """``n`` frames, views balanced (round robin, then shuffled), each with its own quality,
    depth, gain, speckle, rotation and shift; the same for the same seed."""
    rng = np.random.default_rng(seed)
    views = rng.permutation(np.arange(n, dtype=np.int64) % len(VIEWS))
    images = np.empty((n, size, size), dtype=np.uint8)
    landmarks = np.empty((n, len(LANDMARKS), 2), dtype=np.float32)
    quality = np.empty(n, dtype=np.float32)
    for i, view in enumerate(views):
        images[i], landmarks[i], quality[i] = render_view(VIEWS[view], rng, size=size)
    return ViewPool(images=images, views=views, landmarks=landmarks, quality=quality)
