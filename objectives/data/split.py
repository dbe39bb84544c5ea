"""The seeded train / validation / test split, fixed once per study and stored in it.

Training sees the training images; early stopping, pruning and the choice of the best trial see
the validation images; the test images are locked away for the study's final score and nothing
in the search reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Split", "make_split"]


@dataclass(frozen=True)
class Split:
    """Image indices of the training, validation and (locked) test parts; disjoint."""

    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...] = ()  # empty: no locked test set (studies made before it existed)

    def __post_init__(self) -> None:
        if not self.train or not self.val:
            raise ValueError(
                f"a split needs training and validation images, but got {len(self.train)} and {len(self.val)}"
            )
        parts = (set(self.train), set(self.val), set(self.test))
        if sum(map(len, parts)) != len(set().union(*parts)):
            raise ValueError("the training, validation and test indices overlap")

    def to_dict(self) -> dict[str, list[int]]:
        return {"train": list(self.train), "val": list(self.val), "test": list(self.test)}

    @classmethod
    def from_dict(cls, data: dict[str, list[int]]) -> Split:
        def indices(key: str) -> tuple[int, ...]:
            return tuple(int(i) for i in data.get(key, ()))

        return cls(indices("train"), indices("val"), indices("test"))


def make_split(count: int, val_fraction: float, seed: int, test_fraction: float = 0.0) -> Split:
    """Shuffles ``range(count)`` with ``seed``; locks ``test_fraction`` away, holds out ``val_fraction``.

    Both fractions are of all images. Each part asked for gets at least one image, and training
    keeps at least one.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), but got {val_fraction!r}")
    if not 0.0 <= test_fraction < 1.0 or val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"test_fraction must be in [0, 1) and leave images for training beside val_fraction {val_fraction!r}, "
            f"but got {test_fraction!r}"
        )
    minimum = 3 if test_fraction > 0 else 2
    if count < minimum:
        raise ValueError(f"a split needs at least {minimum} images, but got {count!r}")
    order = [int(i) for i in np.random.default_rng(seed).permutation(count)]
    tested = 0 if test_fraction == 0 else max(1, round(count * test_fraction))
    tested = min(tested, count - 2)
    held_out = min(count - tested - 1, max(1, round(count * val_fraction)))
    return Split(
        train=tuple(sorted(order[tested + held_out :])),
        val=tuple(sorted(order[tested : tested + held_out])),
        test=tuple(sorted(order[:tested])),
    )
