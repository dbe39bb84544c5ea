"""Typed, frozen configuration of one training run; it flows from the search space to the trainer.

Nothing here knows about Optuna: a `TrainConfig` can be built by hand, from a trial, or from a
stored trial's parameters, and the trainer behaves the same. Every field that is a tunable
parameter has that parameter's name and is checked against its limits in
`objectives.parameters`, the same check a search-space file goes through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from objectives.parameters import (
    FILL_MODES,
    LOSSES,
    PARAMETERS,
    WARMUP_STEPS,
    Section,
    check_image_size,
    check_value,
    find_parameter,
    warmup_epochs,
)

__all__ = ["FILL_MODES", "LOSSES", "PRECISIONS", "AugmentConfig", "TrainConfig", "UNetConfig"]

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def _check_section(config: object, section: Section) -> None:
    """Checks the fields of one config dataclass that are tunable parameters."""
    for definition in PARAMETERS:
        if definition.section == section:
            check_value(definition, getattr(config, definition.name))


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random geometric augmentation, applied identically to an image and its mask."""

    rotation: float = 180.0  # maximum rotation either way, in degrees
    width_shift: float = 0.3  # maximum horizontal shift, as a fraction of the width
    height_shift: float = 0.3  # maximum vertical shift, as a fraction of the height
    shear: float = 0.1  # maximum shear factor
    zoom: float = 0.1  # maximum zoom in or out, as a fraction
    horizontal_flip: bool = True  # random left-right flips
    vertical_flip: bool = True  # random up-down flips
    fill_mode: str = "constant"  # how pixels moved in from outside the image are filled
    elastic: float = 0.0  # elastic strength in [0, 1]: smooth offsets up to elastic x 10 % of the side; 0: off

    def __post_init__(self) -> None:
        _check_section(self, "augmentation")


@dataclass(frozen=True)
class UNetConfig:
    """Shape of the dilated U-Net."""

    base_filters: int = 16  # filters of the first level; doubled at each level down
    depth: int = 4  # number of down-sampling steps
    dilated_layers: int = 2  # dilated convolutions in the bottleneck (rates 1, 2, 4, ...)
    batch_norm: bool = True  # batch normalisation after each convolution
    dropout: float = 0.0  # dropout rate in the bottleneck

    def __post_init__(self) -> None:
        _check_section(self, "unet")


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs besides the data."""

    image_size: int = 128  # square side in pixels; must be divisible by 2**depth
    batch_size: int = 8  # images per batch
    max_epochs: int = 10  # upper bound; early stopping and pruning may end sooner
    steps_per_epoch: int = 100  # batches per epoch, drawn from reshuffled passes over the data
    learning_rate: float = 1e-3  # Adam's learning rate
    loss: str = "bce_dice"  # binary cross-entropy, or BCE plus soft Dice
    patience: int = 3  # epochs without a higher validation DICE before early stopping (after the warm-up)
    warmup_steps: int = WARMUP_STEPS  # optimizer steps that early stopping and pruners leave unjudged
    train_fraction: float = 1.0  # share of the training split actually used
    augment: bool = True  # random augmentation on or off; its ranges are in `augmentation`
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)  # used only when `augment`
    unet: UNetConfig = field(default_factory=UNetConfig)  # shape of the network
    seed: int = 0  # fixes data order, augmentation and initial weights
    precision: str = (
        "auto"  # "auto": bf16 mixed precision on a GPU that has bf16, float32 elsewhere (see resolve_precision)
    )

    def __post_init__(self) -> None:
        _check_section(self, "train")
        check_image_size(self.image_size, self.unet.depth)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, but got {self.precision!r}")

    @classmethod
    def from_values(cls, values: Mapping[str, Any], seed: int = 0, precision: str = "auto") -> TrainConfig:
        """Builds a config from parameter values by name; a parameter left out keeps its default.

        Args:
            values: parameter name to value, as sampled by a trial or written by hand.
            seed: the run's seed.
            precision: the Keras dtype policy, or ``"auto"``.
        """
        sections: dict[Section, dict[str, Any]] = {"train": {}, "unet": {}, "augmentation": {}}
        for name, value in values.items():
            sections[find_parameter(name).section][name] = value
        return cls(
            **sections["train"],
            augmentation=AugmentConfig(**sections["augmentation"]),
            unet=UNetConfig(**sections["unet"]),
            seed=seed,
            precision=precision,
        )

    @property
    def warmup_epochs(self) -> int:
        """The whole epochs that cover the warm-up's ``warmup_steps`` optimizer steps."""
        return warmup_epochs(self.warmup_steps, self.steps_per_epoch)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
