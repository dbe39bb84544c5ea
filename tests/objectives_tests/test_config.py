from __future__ import annotations

import pytest

from objectives.config import AugmentConfig, TrainConfig, UNetConfig


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TrainConfig(image_size=100), "divisible by 2\\*\\*depth = 16, but got 100"),
        (lambda: TrainConfig(batch_size=0), "batch_size must be at least 1"),
        (lambda: TrainConfig(loss="mse"), "loss must be one of"),
        (lambda: TrainConfig(train_fraction=0.0), "train_fraction must be in"),
        (lambda: AugmentConfig(fill_mode="wrap"), "fill_mode must be one of"),
        (lambda: AugmentConfig(zoom=1.0), "zoom must be in"),
        (lambda: UNetConfig(depth=0), "depth must be in"),
    ],
)
def test_bad_values_are_named(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]
