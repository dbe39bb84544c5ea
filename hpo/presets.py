"""Named study presets: a search space, a budget and defaults that suit a purpose.

Presets are overrides of the one default space (`objectives.space`), checked by the same parser
as a user's TOML file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from objectives.space import SearchSpace

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True)
class Preset:
    description: str
    space_overrides: dict[str, Any] = field(default_factory=dict)
    n_trials: int = 20
    data: str = "synthetic"
    sampler: str = "tpe"
    pruner: str = "median"

    def space(self) -> SearchSpace:
        return SearchSpace.default().with_overrides(self.space_overrides)


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
    "full": Preset(description="the whole default space, TPE with median pruning", n_trials=50),
}
