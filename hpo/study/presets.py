"""Named study presets: a search space, a budget and defaults that suit a purpose.

Presets are overrides of the one default space (`objectives.space`), checked by the same parser
as a user's TOML file. The ``seed`` preset reproduces the researchers' hand-run study: their
baseline plus one variation per factor, each enqueued as a trial labelled with its factor and
setting so that reports can print their per-factor tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from objectives.space import BASELINE, SearchSpace

__all__ = ["PRESETS", "Preset", "SeedTrial", "seed_trials"]


@dataclass(frozen=True)
class SeedTrial:
    """One enqueued configuration of a one-factor-at-a-time study."""

    factor: str  # e.g. "batch size"; "baseline" for the reference run
    setting: str  # e.g. "32"
    params: dict[str, Any]


@dataclass(frozen=True)
class Preset:
    description: str
    space_overrides: dict[str, Any] = field(default_factory=dict)
    n_trials: int = 20
    data: str = "synthetic"
    sampler: str = "tpe"
    pruner: str = "median"
    enqueued: tuple[SeedTrial, ...] = ()  # trials run first, in this order

    def space(self) -> SearchSpace:
        return SearchSpace.default().with_overrides(self.space_overrides)

    def enqueue(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The enqueued trials as ``(params, user_attrs)`` pairs for `hpo.study.run.create_study`."""
        return [(trial.params, {"factor": trial.factor, "setting": trial.setting}) for trial in self.enqueued]


def _variation(factor: str, setting: str, **changes: Any) -> SeedTrial:
    params = {**BASELINE, **changes}
    if not params["augment"]:
        params = {key: value for key, value in params.items() if key in _NON_AUGMENTATION}
    return SeedTrial(factor, setting, params)


_NON_AUGMENTATION = (
    "batch_size",
    "max_epochs",
    "steps_per_epoch",
    "learning_rate",
    "loss",
    "train_fraction",
    "augment",
)


def seed_trials() -> tuple[SeedTrial, ...]:
    """The researchers' study: baseline, then each factor varied alone."""
    return (
        _variation("baseline", "batch 8, 10 epochs, augmentation on"),
        _variation("batch size", "32", batch_size=32),
        _variation("batch size", "16", batch_size=16),
        _variation("epochs", "20 (early stopping)", max_epochs=20),
        _variation("epochs", "5", max_epochs=5),
        _variation("shift", "0.8", width_shift=0.8, height_shift=0.8),
        _variation("rotation", "90", rotation=90.0),
        _variation("shear and zoom", "0.8", shear=0.8, zoom=0.8),
        _variation("augmentation", "off", augment=False),
        _variation("augmentation", "off, 90% of the data", augment=False, train_fraction=0.9),
    )


def _choices_of(trials: tuple[SeedTrial, ...]) -> dict[str, Any]:
    """A space whose choices are exactly the values the enqueued trials use."""
    values: dict[str, list[Any]] = {}
    for trial in trials:
        for name, value in trial.params.items():
            if value not in values.setdefault(name, []):
                values[name].append(value)
    return {name: options[0] if len(options) == 1 else options for name, options in values.items()}


_SEED = seed_trials()

PRESETS: dict[str, Preset] = {
    "demo": Preset(
        description="a dozen small, pruned trials on the phantom at 64 px: minutes on a laptop CPU",
        space_overrides={
            "image_size": 64,
            "batch_size": [8, 16],
            "max_epochs": {"low": 3, "high": 5},
            "steps_per_epoch": 10,
            "learning_rate": {"low": 1e-3, "high": 1e-2, "log": True},
            "patience": 2,
            "train_fraction": 1.0,
            "base_filters": [8, 12],
            "depth": 3,
            "dilated_layers": {"low": 0, "high": 2},
            "dropout": 0.0,
            "rotation": {"low": 0.0, "high": 30.0},
            "width_shift": {"low": 0.0, "high": 0.2},
            "height_shift": {"low": 0.0, "high": 0.2},
            "shear": {"low": 0.0, "high": 0.2},
            "zoom": {"low": 0.0, "high": 0.2},
            "elastic": 0.0,
        },
        n_trials=12,
        data="synthetic:120",
    ),
    "quick": Preset(
        description="a first look at new data: 12 short pruned trials at 128 px",
        space_overrides={"max_epochs": {"low": 3, "high": 8}, "steps_per_epoch": 25, "base_filters": [8, 16]},
        n_trials=12,
        pruner="successive-halving",
    ),
    "full": Preset(description="the whole default space, TPE with median pruning", n_trials=50),
    "seed": Preset(
        description="the researchers' one-factor-at-a-time study: baseline plus 9 variations, unpruned",
        space_overrides={**_choices_of(_SEED), "base_filters": 16, "depth": 4, "dilated_layers": 2, "dropout": 0.0},
        n_trials=len(_SEED),
        sampler="random",
        pruner="none",
        enqueued=_SEED,
    ),
}
