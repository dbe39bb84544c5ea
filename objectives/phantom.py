"""Synthetic chest X-ray phantom with exact lung masks, in pure NumPy.

The phantom exists so that `hpo demo` and the tests can train a real U-Net with no data from the
user and no network. It is built so that a threshold cannot solve it: the air outside the body and
in the trachea is as dark as the lungs, ribs cross the lungs, the heart cuts into the left lung,
and contrast, brightness, bias field and noise vary from image to image.

Image ``i`` of seed ``s`` depends only on ``(s, i)``, never on how many images were asked for, so a
larger dataset starts with the images of a smaller one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PhantomAnatomy", "make_phantom", "make_phantom_dataset", "render_phantom", "sample_anatomy"]


@dataclass(frozen=True)
class PhantomAnatomy:
    """Geometry of one phantom, in normalised coordinates (x and y in [-1, 1], y down)."""

    body_center_x: float
    body_half_width: float
    body_half_height: float
    lung_center_y: float
    right_lung_center_x: float  # image left; the patient's right lung is the larger one
    left_lung_center_x: float
    lung_half_width: tuple[float, float]
    lung_half_height: tuple[float, float]
    lung_tilt_rad: tuple[float, float]
    lung_harmonics: tuple[tuple[float, ...], tuple[float, ...]]
    heart_center: tuple[float, float]
    heart_half_axes: tuple[float, float]
    diaphragm_y: float
    rib_spacing: float
    rib_curvature: float
    rib_phase: float


def sample_anatomy(rng: np.random.Generator) -> PhantomAnatomy:
    """Draws one plausible, varied chest anatomy."""
    shift_x = rng.uniform(-0.08, 0.08)
    lung_y = rng.uniform(-0.12, 0.02)
    return PhantomAnatomy(
        body_center_x=shift_x,
        body_half_width=rng.uniform(0.78, 0.95),
        body_half_height=rng.uniform(1.05, 1.25),
        lung_center_y=lung_y,
        right_lung_center_x=shift_x - rng.uniform(0.33, 0.42),
        left_lung_center_x=shift_x + rng.uniform(0.33, 0.42),
        lung_half_width=(rng.uniform(0.2, 0.28), rng.uniform(0.18, 0.26)),
        lung_half_height=(rng.uniform(0.45, 0.6), rng.uniform(0.42, 0.56)),
        lung_tilt_rad=(rng.uniform(-0.2, 0.05), rng.uniform(-0.05, 0.2)),
        lung_harmonics=(
            tuple(rng.uniform(-0.06, 0.06, size=4)),
            tuple(rng.uniform(-0.06, 0.06, size=4)),
        ),
        heart_center=(shift_x + rng.uniform(0.08, 0.18), lung_y + rng.uniform(0.25, 0.38)),
        heart_half_axes=(rng.uniform(0.2, 0.28), rng.uniform(0.16, 0.24)),
        diaphragm_y=lung_y + rng.uniform(0.42, 0.55),
        rib_spacing=rng.uniform(0.16, 0.22),
        rib_curvature=rng.uniform(0.15, 0.35),
        rib_phase=rng.uniform(0.0, 1.0),
    )


def _lung_region(
    xx: np.ndarray,
    yy: np.ndarray,
    center: tuple[float, float],
    half_axes: tuple[float, float],
    tilt: float,
    harmonics: tuple[float, ...],
) -> np.ndarray:
    """An egg-shaped, tilted lobe whose outline wobbles with a few low harmonics."""
    dx, dy = xx - center[0], yy - center[1]
    cos_t, sin_t = np.cos(tilt), np.sin(tilt)
    u = (cos_t * dx + sin_t * dy) / half_axes[0]
    v = (-sin_t * dx + cos_t * dy) / half_axes[1]
    # Wider at the base than at the apex, like a real lung.
    u = u / (1.0 + 0.25 * np.clip(v, -1.0, 1.0))
    theta = np.arctan2(v, u)
    outline = 1.0 + sum(a * np.cos((k + 2) * theta) for k, a in enumerate(harmonics))
    return np.hypot(u, v) < outline


def _smooth(image: np.ndarray, width: int) -> np.ndarray:
    """Separable box blur (reflect-padded), enough to soften edges like a real radiograph."""
    if width <= 1:
        return image
    kernel = np.full(width, 1.0 / width)
    pad = width // 2
    padded = np.pad(image, pad, mode="reflect")
    rows = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), 1, padded)
    both = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="valid"), 0, rows)
    return both[: image.shape[0], : image.shape[1]]


def make_phantom(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Renders one phantom.

    Args:
        rng: the generator that fixes anatomy, contrast and noise.
        size: side of the square image in pixels (at least 16).

    Returns:
        ``(image, mask)``: a float32 image in [0, 1] and a uint8 mask of {0, 1}, both
        ``(size, size)``.
    """
    if size < 16:
        raise ValueError(f"phantom size must be at least 16 pixels, but got {size!r}")
    anatomy = sample_anatomy(rng)
    axis = (np.arange(size, dtype=np.float64) + 0.5) / size * 2.0 - 1.0
    yy, xx = np.meshgrid(axis, axis, indexing="ij")

    body = ((xx - anatomy.body_center_x) / anatomy.body_half_width) ** 2 + (yy / anatomy.body_half_height) ** 2 < 1.0
    lungs = np.zeros_like(body)
    for side, center_x in enumerate((anatomy.right_lung_center_x, anatomy.left_lung_center_x)):
        lungs |= _lung_region(
            xx,
            yy,
            (center_x, anatomy.lung_center_y),
            (anatomy.lung_half_width[side], anatomy.lung_half_height[side]),
            anatomy.lung_tilt_rad[side],
            anatomy.lung_harmonics[side],
        )
    heart = ((xx - anatomy.heart_center[0]) / anatomy.heart_half_axes[0]) ** 2 + (
        (yy - anatomy.heart_center[1]) / anatomy.heart_half_axes[1]
    ) ** 2 < 1.0
    # The diaphragm is a dome: lower at the sides than in the middle.
    diaphragm = yy > anatomy.diaphragm_y - 0.12 * (1.0 - xx**2)
    mediastinum = np.abs(xx - anatomy.body_center_x) < 0.09
    lungs &= body & ~heart & ~diaphragm & ~mediastinum
    trachea = (np.abs(xx - anatomy.body_center_x) < 0.035) & (yy < anatomy.lung_center_y - 0.2)

    tissue = rng.uniform(0.45, 0.6)
    air = rng.uniform(0.05, 0.2)
    lung_level = air + rng.uniform(0.05, 0.15)
    image = np.where(body, tissue, air)
    image = np.where(mediastinum & body, tissue + 0.12, image)
    image = np.where(heart & body, tissue + rng.uniform(0.08, 0.16), image)
    image = np.where(diaphragm & body, tissue + rng.uniform(0.05, 0.12), image)
    image = np.where(lungs, lung_level, image)
    image = np.where(trachea & body, lung_level, image)

    # Ribs: bright curved bands across the chest, fainter behind the mediastinum.
    rib_coordinate = (yy - anatomy.rib_curvature * xx**2) / anatomy.rib_spacing + anatomy.rib_phase
    ribs = np.exp(-(((rib_coordinate % 1.0) - 0.5) ** 2) / 0.02)
    image = image + body * ribs * rng.uniform(0.08, 0.16) * (1.0 - 0.5 * mediastinum)
    # Vessels and parenchyma: fine texture inside the lungs only.
    texture = _smooth(rng.normal(0.0, 1.0, size=(size, size)), max(2, size // 32))
    image = image + lungs * texture * rng.uniform(0.03, 0.08)

    image = _smooth(image, max(1, size // 64) * 2 + 1)
    bias = rng.uniform(-0.15, 0.15) * xx + rng.uniform(-0.15, 0.15) * yy
    image = image + bias
    image = image + rng.normal(0.0, rng.uniform(0.01, 0.04), size=image.shape)
    low, high = image.min(), image.max()
    image = (image - low) / max(high - low, 1e-6)
    image = image ** rng.uniform(0.7, 1.4)
    return image.astype(np.float32), lungs.astype(np.uint8)


def render_phantom(seed: int, index: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Image ``index`` of the phantom dataset of ``seed``, alone (see `make_phantom`).

    Args:
        seed: the dataset's seed.
        index: position in the dataset, from 0.
        size: side of the square image in pixels (at least 16).
    """
    return make_phantom(np.random.default_rng([seed, index]), size)


def make_phantom_dataset(count: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Renders ``count`` phantoms; image ``i`` is fixed by ``(seed, i)`` alone.

    Returns:
        ``(images, masks)`` of shapes ``(count, size, size, 1)``: float32 in [0, 1] and uint8
        in {0, 1}.
    """
    if count < 1:
        raise ValueError(f"phantom count must be at least 1, but got {count!r}")
    images = np.empty((count, size, size, 1), dtype=np.float32)
    masks = np.empty((count, size, size, 1), dtype=np.uint8)
    for index in range(count):
        image, mask = render_phantom(seed, index, size)
        images[index, ..., 0] = image
        masks[index, ..., 0] = mask
    return images, masks
