"""What ``hpo data inspect`` shows: a summary of a loaded dataset and a preview grid.

Checking a dataset before a study of many hours catches the usual mistakes early: masks of the
wrong label (lung fraction near 0 or 1), a layout that matched nothing (many skips), or images
in portrait and landscape mixed (several original sizes).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from objectives.data.dataset import Dataset, Skipped
from objectives.data.preprocess import letterbox
from objectives.figures import TRUTH_COLOUR, overlay_mask

__all__ = ["DatasetReport", "FractionStats", "inspect_dataset", "lung_fractions", "write_preview"]

_GAP = 2  # pixels between preview tiles


@dataclass(frozen=True)
class FractionStats:
    """Summary of the per-image fraction of lung pixels."""

    min: float
    median: float
    mean: float
    max: float


@dataclass(frozen=True)
class DatasetReport:
    """Counts and statistics of a dataset, ready to print as a table or JSON."""

    count: int  # images loaded
    image_size: int  # side of the square arrays
    original_sizes: tuple[tuple[tuple[int, int], int], ...]  # ((height, width), images), most first
    lung_fraction: FractionStats | None  # None when the dataset is empty
    empty_masks: int  # images whose mask has no lung pixel (kept unannotated images)
    skipped: tuple[Skipped, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; sizes as ``{"height", "width", "count"}`` records."""
        return {
            "count": self.count,
            "image_size": self.image_size,
            "original_sizes": [
                {"height": height, "width": width, "count": count} for (height, width), count in self.original_sizes
            ],
            "lung_fraction": None if self.lung_fraction is None else vars(self.lung_fraction),
            "empty_masks": self.empty_masks,
            "skipped": [{"item": s.item, "reason": s.reason} for s in self.skipped],
        }


def lung_fractions(dataset: Dataset) -> np.ndarray:
    """Each image's lung pixels as a fraction of its image area, padding excluded.

    Counting the letterbox padding would make the same chest look smaller when its X-ray is
    more oblong, so the fraction is taken over the scaled image only when the original size is
    known.
    """
    fractions = np.empty(len(dataset), dtype=np.float64)
    for index, mask in enumerate(dataset.masks[..., 0]):
        if dataset.original_sizes:
            mask = letterbox(dataset.original_sizes[index], dataset.image_size).crop(mask)
        fractions[index] = float(mask.mean()) if mask.size else 0.0
    return fractions


def inspect_dataset(dataset: Dataset) -> DatasetReport:
    """Summarises a dataset: counts, original sizes, lung fractions and skipped inputs.

    Args:
        dataset: any loaded dataset.
    """
    fractions = lung_fractions(dataset)
    stats = None
    if len(fractions):
        stats = FractionStats(
            min=float(fractions.min()),
            median=float(np.median(fractions)),
            mean=float(fractions.mean()),
            max=float(fractions.max()),
        )
    sizes = Counter(dataset.original_sizes)
    ordered = tuple(sorted(sizes.items(), key=lambda pair: (-pair[1], pair[0])))
    return DatasetReport(
        count=len(dataset),
        image_size=dataset.image_size,
        original_sizes=ordered,
        lung_fraction=stats,
        empty_masks=int((~dataset.masks.any(axis=(1, 2, 3))).sum()),
        skipped=dataset.skipped,
    )


def write_preview(dataset: Dataset, path: Path, max_images: int = 16) -> Path:
    """Writes a PNG grid of the first images with their masks tinted, and returns its path.

    Args:
        dataset: a non-empty dataset.
        path: the PNG file to write; its folder is created when missing.
        max_images: how many images to show, at most.
    """
    if max_images < 1:
        raise ValueError(f"max_images must be at least 1, but got {max_images!r}")
    if len(dataset) == 0:
        raise ValueError("cannot preview an empty dataset")
    count = min(max_images, len(dataset))
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    side = dataset.image_size
    grid = np.zeros((rows * (side + _GAP) - _GAP, columns * (side + _GAP) - _GAP, 3), np.float32)
    for index in range(count):
        top = (index // columns) * (side + _GAP)
        left = (index % columns) * (side + _GAP)
        tile = overlay_mask(dataset.images[index, ..., 0], dataset.masks[index, ..., 0], TRUTH_COLOUR)
        grid[top : top + side, left : left + side] = tile
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(grid).astype(np.uint8)).save(path, format="PNG")
    return path
