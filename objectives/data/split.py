"""The seeded train/validation split, fixed once per study and stored in it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Split", "make_split"]


@dataclass(frozen=True)
class Split:
    """Image indices of the training and validation parts; disjoint, together all images."""

    train: tuple[int, ...]
    val: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.train or not self.val:
            raise ValueError(
                f"a split needs training and validation images, but got {len(self.train)} and {len(self.val)}"
            )
        if set(self.train) & set(self.val):
            raise ValueError("training and validation indices overlap")

    def to_dict(self) -> dict[str, list[int]]:
        return {"train": list(self.train), "val": list(self.val)}

    @classmethod
    def from_dict(cls, data: dict[str, list[int]]) -> Split:
        return cls(tuple(int(i) for i in data["train"]), tuple(int(i) for i in data["val"]))


def make_split(count: int, val_fraction: float, seed: int) -> Split:
    """Shuffles ``range(count)`` with ``seed`` and holds out ``val_fraction`` of it (at least 1)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), but got {val_fraction!r}")
    if count < 2:
        raise ValueError(f"a split needs at least 2 images, but got {count!r}")
    order = np.random.default_rng(seed).permutation(count)
    held_out = min(count - 1, max(1, round(count * val_fraction)))
    return Split(
        train=tuple(sorted(int(i) for i in order[held_out:])),
        val=tuple(sorted(int(i) for i in order[:held_out])),
    )
