"""The native image/mask pairs a file source walks, and how a walk becomes a `Dataset`.

Each file source states its reading and skipping rules once, as a generator that yields, in
dataset order, a `NativePair` for every usable input and a `Skipped` for every other one
(`objectives.data.folder.native_pairs`, `objectives.data.mdai.native_pairs`). A generator
raises `DataSourceError` after its last item when it yielded no pair at all.

`prepare_pairs` letterboxes such a walk into the `Dataset` that `load_dataset` caches;
`objectives.data.native.load_native` walks the same generator and keeps the pairs it is asked
for, so both see the same image under the same name at the same index.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from objectives.data.dataset import Dataset, Skipped
from objectives.data.preprocess import prepare_image, prepare_mask

__all__ = ["NativePair", "Walk", "prepare_pairs"]


@dataclass(frozen=True)
class NativePair:
    """One usable image and its mask at the image's own size, as the source decoded them."""

    name: str  # the dataset's name for the image
    image: np.ndarray  # 2-D pixel values in the reader's dtype and units, not yet normalised
    mask: np.ndarray  # 2-D uint8 in {0, 1}, the image's shape

    def __post_init__(self) -> None:
        if self.image.ndim != 2 or self.mask.shape != self.image.shape:
            raise ValueError(
                f"expected a 2-D image and a mask of its shape, but got {self.image.shape!r} and {self.mask.shape!r}"
            )


Walk: TypeAlias = Iterator[NativePair | Skipped]


def prepare_pairs(walk: Iterable[NativePair | Skipped], image_size: int) -> Dataset:
    """Letterboxes every pair of a walk to ``image_size`` and keeps its skips, in order.

    Args:
        walk: a source's pairs and skips, e.g. `objectives.data.folder.native_pairs`.
        image_size: side of the square images and masks.
    """
    images, masks, names, sizes, skipped = [], [], [], [], []
    for item in walk:
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        images.append(prepare_image(item.image, image_size))
        masks.append(prepare_mask(item.mask, image_size))
        names.append(item.name)
        sizes.append((int(item.image.shape[0]), int(item.image.shape[1])))
    return Dataset.from_images(images, masks, names, skipped, sizes)
