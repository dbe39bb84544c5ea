from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from objectives.data import Dataset, Skipped, inspect_dataset, write_preview


def _dataset(lung_pixels: list[int], sizes: list[tuple[int, int]]) -> Dataset:
    """4x4 images whose masks have the first ``n`` pixels (row-major) set."""
    masks = np.zeros((len(lung_pixels), 16), dtype=np.uint8)
    for index, count in enumerate(lung_pixels):
        masks[index, :count] = 1
    images = np.linspace(0, 1, 16 * len(lung_pixels), dtype=np.float32)
    return Dataset(
        images=images.reshape(-1, 4, 4, 1),
        masks=masks.reshape(-1, 4, 4, 1),
        names=tuple(f"img{index}" for index in range(len(lung_pixels))),
        skipped=(Skipped("bad.png", "no mask in masks/"),),
        original_sizes=tuple(sizes),
    )


def test_inspect_counts_sizes_fractions_and_skips():
    # Fractions 4/16, 8/16, 0/16 -> min 0, median 0.25, mean 0.25, max 0.5.
    report = inspect_dataset(_dataset([4, 8, 0], [(4, 4), (8, 8), (4, 4)]))
    assert report.count == 3 and report.image_size == 4
    assert report.original_sizes == (((4, 4), 2), ((8, 8), 1))
    stats = report.lung_fraction
    assert (stats.min, stats.median, stats.mean, stats.max) == (0.0, 0.25, 0.25, 0.5)
    assert report.empty_masks == 1
    assert report.skipped == (Skipped("bad.png", "no mask in masks/"),)
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["original_sizes"][0] == {"height": 4, "width": 4, "count": 2}
    assert as_json["lung_fraction"]["median"] == 0.25
    assert as_json["skipped"] == [{"item": "bad.png", "reason": "no mask in masks/"}]


def test_lung_fraction_ignores_letterbox_padding():
    # A (2, 4) original fills rows 1..2 of the 4x4 square; 4 lung pixels on row 1 are half
    # of its 8 image pixels, although only a quarter of the square.
    masks = np.zeros((1, 4, 4, 1), dtype=np.uint8)
    masks[0, 1, :, 0] = 1
    dataset = Dataset(np.zeros((1, 4, 4, 1), np.float32), masks, ("wide",), (), ((2, 4),))
    assert inspect_dataset(dataset).lung_fraction.mean == 0.5


def test_preview_grid_tints_the_masks(tmp_path):
    dataset = _dataset([4, 8, 0, 16, 2], [(4, 4)] * 5)
    path = write_preview(dataset, tmp_path / "out" / "preview.png", max_images=5)
    with Image.open(path) as picture:
        # 5 tiles -> 3 columns, 2 rows of 4 px with 2 px gaps: 3 * 4 + 2 * 2 by 2 * 4 + 2.
        assert picture.size == (16, 10) and picture.mode == "RGB"
        pixels = np.asarray(picture).astype(int)
    lung = pixels[0, 0]  # first pixel of the first tile is lung
    assert lung[1] > lung[0] + 50 and lung[1] > lung[2] + 50  # tinted green, as ground truth everywhere
    background = pixels[0, 12]  # the third tile (left edge 2 * (4 + 2)) has no lung
    assert background[0] == background[1] == background[2]


def test_preview_needs_images(tmp_path):
    empty = Dataset(np.zeros((0, 4, 4, 1), np.float32), np.zeros((0, 4, 4, 1), np.uint8), ())
    with pytest.raises(ValueError, match="empty dataset"):
        write_preview(empty, tmp_path / "p.png")
    assert inspect_dataset(empty).lung_fraction is None
