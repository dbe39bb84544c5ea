from __future__ import annotations

import pytest

from objectives.config import AugmentConfig, TrainConfig, UNetConfig


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TrainConfig(image_size=100), r"^image_size: expected a multiple of 2\*\*depth = 16, but got 100$"),
        (lambda: TrainConfig(image_size=8), r"^image_size: expected a value in \[16, 1024\], but got 8$"),
        (lambda: TrainConfig(batch_size=0), r"^batch_size: expected a value in \[1, 512\], but got 0$"),
        (lambda: TrainConfig(loss="mse"), r"^loss: expected one of \('bce', 'bce_dice'\), but got 'mse'$"),
        (lambda: TrainConfig(train_fraction=0.0), r"^train_fraction: expected a value in \[0.01, 1.0\], but got 0.0$"),
        (lambda: TrainConfig(augment="yes"), r"^augment: expected true or false, but got 'yes'$"),
        (lambda: TrainConfig(precision="half"), r"^precision must be one of .*, but got 'half'$"),
        (lambda: AugmentConfig(fill_mode="wrap"), r"^fill_mode: expected one of .*, but got 'wrap'$"),
        (lambda: AugmentConfig(zoom=1.0), r"^zoom: expected a value in \[0.0, 0.95\], but got 1.0$"),
        (lambda: AugmentConfig(rotation=270), r"^rotation: expected a value in \[0.0, 180.0\], but got 270.0$"),
        (lambda: UNetConfig(depth=0), r"^depth: expected a value in \[1, 6\], but got 0$"),
        (lambda: UNetConfig(base_filters=2.5), r"^base_filters: expected an integer, but got 2.5$"),
    ],
)
def test_bad_values_are_named(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_from_values_puts_each_parameter_in_its_section() -> None:
    config = TrainConfig.from_values(
        {"batch_size": 16, "depth": 3, "dropout": 0.2, "augment": False, "rotation": 90.0, "fill_mode": "nearest"},
        seed=4,
    )
    assert config == TrainConfig(
        batch_size=16,
        unet=UNetConfig(depth=3, dropout=0.2),
        augment=False,
        augmentation=AugmentConfig(rotation=90.0, fill_mode="nearest"),
        seed=4,
    )


def test_from_values_names_an_unknown_parameter() -> None:
    with pytest.raises(ValueError, match=r"^rotation_deg: unknown parameter; did you mean 'rotation'\?"):
        TrainConfig.from_values({"rotation_deg": 90.0})
