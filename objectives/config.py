"""Typed, frozen configuration of one training run; it flows from the search space to the trainer.

Nothing here knows about Optuna: a `TrainConfig` can be built by hand, from a trial, or from a
stored trial's parameters, and the trainer behaves the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FILL_MODES", "LOSSES", "PRECISIONS", "AugmentConfig", "TrainConfig", "UNetConfig"]

FILL_MODES = ("constant", "nearest", "reflect")
LOSSES = ("bce", "bce_dice")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


@dataclass(frozen=True)
class AugmentConfig:
    """Random geometric augmentation, applied identically to an image and its mask."""

    enabled: bool = True
    rotation_deg: float = 180.0  # maximum rotation either way, in degrees
    width_shift: float = 0.3  # maximum horizontal shift, as a fraction of the width
    height_shift: float = 0.3  # maximum vertical shift, as a fraction of the height
    shear: float = 0.1  # maximum shear factor
    zoom: float = 0.1  # maximum zoom in or out, as a fraction
    horizontal_flip: bool = True
    vertical_flip: bool = True
    fill_mode: str = "constant"  # how pixels moved in from outside the image are filled
    elastic: float = 0.0  # elastic deformation strength in [0, 1]; 0 switches it off

    def __post_init__(self) -> None:
        if self.fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {FILL_MODES}, but got {self.fill_mode!r}")
        for name in ("width_shift", "height_shift", "shear", "elastic"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], but got {value!r}")
        if not 0.0 <= self.zoom < 1.0:
            raise ValueError(f"zoom must be in [0, 1), but got {self.zoom!r}")
        if not 0.0 <= self.rotation_deg <= 180.0:
            raise ValueError(f"rotation_deg must be in [0, 180], but got {self.rotation_deg!r}")


@dataclass(frozen=True)
class UNetConfig:
    """Shape of the dilated U-Net."""

    base_filters: int = 16  # filters of the first level; doubled at each level down
    depth: int = 4  # number of down-sampling steps
    dilated_layers: int = 2  # dilated convolutions in the bottleneck (rates 1, 2, 4, ...)
    batch_norm: bool = True
    dropout: float = 0.0  # dropout rate in the bottleneck

    def __post_init__(self) -> None:
        if self.base_filters < 1:
            raise ValueError(f"base_filters must be at least 1, but got {self.base_filters!r}")
        if not 1 <= self.depth <= 6:
            raise ValueError(f"depth must be in [1, 6], but got {self.depth!r}")
        if not 0 <= self.dilated_layers <= 6:
            raise ValueError(f"dilated_layers must be in [0, 6], but got {self.dilated_layers!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), but got {self.dropout!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs besides the data."""

    image_size: int = 128  # square side in pixels; must be divisible by 2**depth
    batch_size: int = 8
    max_epochs: int = 10  # upper bound; early stopping and pruning may end sooner
    steps_per_epoch: int = 100  # batches per epoch, drawn from reshuffled passes over the data
    learning_rate: float = 1e-3  # Adam's learning rate
    loss: str = "bce_dice"  # binary cross-entropy, or BCE plus soft Dice
    patience: int = 3  # epochs without a lower validation loss before early stopping
    train_fraction: float = 1.0  # share of the training split actually used
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    unet: UNetConfig = field(default_factory=UNetConfig)
    seed: int = 0  # fixes data order, augmentation and initial weights
    precision: str = "auto"  # "auto": mixed precision on a GPU, float32 elsewhere

    def __post_init__(self) -> None:
        if self.image_size < 16:
            raise ValueError(f"image_size must be at least 16, but got {self.image_size!r}")
        if self.image_size % (2**self.unet.depth):
            raise ValueError(
                f"image_size must be divisible by 2**depth = {2**self.unet.depth}, but got {self.image_size!r}"
            )
        for name in ("batch_size", "max_epochs", "steps_per_epoch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, but got {getattr(self, name)!r}")
        if self.patience < 0:
            raise ValueError(f"patience must be at least 0, but got {self.patience!r}")
        if not 0.0 < self.learning_rate < 1.0:
            raise ValueError(f"learning_rate must be in (0, 1), but got {self.learning_rate!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, but got {self.loss!r}")
        if not 0.0 < self.train_fraction <= 1.0:
            raise ValueError(f"train_fraction must be in (0, 1], but got {self.train_fraction!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, but got {self.precision!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
