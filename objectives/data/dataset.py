"""The in-memory dataset every source produces, and the error a source raises when it cannot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DataSourceError", "Dataset", "Skipped"]


class DataSourceError(ValueError):
    """A data source that cannot be used; the message says why and how to fix it."""


@dataclass(frozen=True)
class Skipped:
    """An input file or annotation left out, and why (shown by `hpo data inspect`)."""

    item: str
    reason: str


@dataclass(frozen=True)
class Dataset:
    """Images float32 ``(n, s, s, 1)`` in [0, 1]; masks uint8 ``(n, s, s, 1)`` in {0, 1}."""

    images: np.ndarray
    masks: np.ndarray
    names: tuple[str, ...]  # one per image, for reports and error messages
    skipped: tuple[Skipped, ...] = ()
    original_sizes: tuple[tuple[int, int], ...] = ()  # (height, width) before resizing

    def __post_init__(self) -> None:
        if self.images.shape != self.masks.shape:
            raise ValueError(f"images and masks differ in shape: {self.images.shape} vs {self.masks.shape}")
        if self.images.ndim != 4 or self.images.shape[-1] != 1:
            raise ValueError(f"expected arrays of shape (n, s, s, 1), but got {self.images.shape}")
        if len(self.names) != len(self.images):
            raise ValueError(f"got {len(self.names)} names for {len(self.images)} images")
        if self.original_sizes and len(self.original_sizes) != len(self.images):
            raise ValueError(f"got {len(self.original_sizes)} original sizes for {len(self.images)} images")

    @classmethod
    def from_images(
        cls,
        images: list[np.ndarray],
        masks: list[np.ndarray],
        names: list[str],
        skipped: list[Skipped],
        original_sizes: list[tuple[int, int]],
    ) -> Dataset:
        """Stacks per-image 2-D arrays, as every file source collects them, into a dataset."""
        return cls(
            images=np.stack(images)[..., None],
            masks=np.stack(masks)[..., None],
            names=tuple(names),
            skipped=tuple(skipped),
            original_sizes=tuple(original_sizes),
        )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])
