"""The search space of a study, and the only module that calls ``trial.suggest_*``.

A space maps each parameter of `objectives.parameters.PARAMETERS` to a distribution: a fixed
value, a list of choices, or an int or float range. The defaults (`objectives.parameters`)
search the researchers' batch sizes, augmentation on or off within plausible ranges, learning
rate, loss and U-Net shape, with epochs left to early stopping and the pruner; a TOML file (or a
preset, such as the researchers' own grid) overrides any of them (its form is described in
`objectives.space_file`). A trial samples one value per parameter, and augmentation parameters
only in trials where ``augment`` is true; the values become a `TrainConfig` field by field, each
under its own name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from objectives.config import TrainConfig
from objectives.parameters import (
    PARAMETERS,
    Choice,
    Distribution,
    Fixed,
    FloatRange,
    IntRange,
    ParameterDef,
    Scalar,
    check_image_size,
    find_parameter,
    warmup_epochs,
)
from objectives.space_file import SearchSpaceError, distribution_to_raw, parse_distribution, read_toml

if TYPE_CHECKING:
    import optuna

__all__ = [
    "BASELINE",
    "PARAMETERS",
    "Choice",
    "Distribution",
    "Fixed",
    "FloatRange",
    "IntRange",
    "ParameterDef",
    "SearchSpace",
    "SearchSpaceError",
    "config_from_params",
    "params_in_space",
    "suggest_config",
]


def _candidates(distribution: Distribution) -> list[Scalar]:
    """Values a distribution can produce, where that is a short list (used for cross-checks)."""
    if isinstance(distribution, Fixed):
        return [distribution.value]
    if isinstance(distribution, Choice):
        return list(distribution.values)
    return [distribution.low, distribution.high]


def _contains(distribution: Distribution, value: Scalar) -> bool:
    if isinstance(distribution, Fixed):
        return distribution.value == value
    if isinstance(distribution, Choice):
        return value in distribution.values
    return distribution.low <= value <= distribution.high  # type: ignore[operator]


@dataclass(frozen=True)
class SearchSpace:
    """A complete, validated space: every parameter has a distribution."""

    distributions: Mapping[str, Distribution]

    def __post_init__(self) -> None:
        missing = [definition.name for definition in PARAMETERS if definition.name not in self.distributions]
        if missing:
            raise SearchSpaceError(f"space is missing parameters {missing}")
        depth = max(int(v) for v in _candidates(self.distributions["depth"]))
        sizes = self.distributions["image_size"]
        if not isinstance(sizes, Fixed | Choice):
            raise SearchSpaceError("space.image_size: give a fixed size or a list of sizes, not a range")
        for size in _candidates(sizes):
            try:
                check_image_size(int(size), depth, "space.image_size")
            except ValueError as error:
                raise SearchSpaceError(str(error)) from None

    @classmethod
    def default(cls) -> SearchSpace:
        return cls({definition.name: definition.default for definition in PARAMETERS})

    def with_overrides(self, overrides: Mapping[str, Any]) -> SearchSpace:
        """Returns a copy with some parameters replaced, each checked against its definition."""
        distributions = dict(self.distributions)
        for name, raw in overrides.items():
            try:
                definition = find_parameter(name, f"space.{name}")
            except ValueError as error:
                raise SearchSpaceError(str(error)) from None
            distributions[name] = parse_distribution(definition, raw)
        return SearchSpace(distributions)

    @classmethod
    def from_toml(cls, path: Path, base: SearchSpace | None = None) -> SearchSpace:
        """Reads overrides from the ``[space]`` table of a TOML file."""
        document = read_toml(Path(path))
        unknown_tables = set(document) - {"space"}
        if unknown_tables:
            raise SearchSpaceError(
                f"search-space file {str(path)!r}: unknown top-level keys {sorted(unknown_tables)}; "
                "put parameters under [space]"
            )
        table = document.get("space", {})
        if not isinstance(table, dict):
            raise SearchSpaceError(f"search-space file {str(path)!r}: [space] must be a table")
        try:
            return (base or cls.default()).with_overrides(table)
        except SearchSpaceError as error:
            raise SearchSpaceError(f"search-space file {str(path)!r}: {error}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the same shape a TOML file uses; `from_dict` reads it back."""
        return {definition.name: distribution_to_raw(self.distributions[definition.name]) for definition in PARAMETERS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        return cls.default().with_overrides(data)

    def fixed_values(self) -> dict[str, Scalar]:
        """The parameters this space does not tune, with their values (trials do not record them)."""
        return {name: d.value for name, d in self.distributions.items() if isinstance(d, Fixed)}

    def warmup_epochs(self) -> int:
        """Epochs a pruner lets every trial run unjudged: the longest warm-up at the shortest epochs."""
        steps = max(int(value) for value in _candidates(self.distributions["warmup_steps"]))
        return warmup_epochs(steps, min(int(value) for value in _candidates(self.distributions["steps_per_epoch"])))

    def grid(self) -> dict[str, list[Scalar]]:
        """Choices per parameter, for Optuna's GridSampler; ranges cannot be gridded."""
        grid: dict[str, list[Scalar]] = {}
        for name, distribution in self.distributions.items():
            if isinstance(distribution, Choice):
                grid[name] = list(distribution.values)
            elif not isinstance(distribution, Fixed):
                raise SearchSpaceError(f"space.{name}: the grid sampler needs choices or fixed values, not a range")
        return grid


def _suggest(trial: optuna.trial.BaseTrial, name: str, distribution: Distribution) -> Any:
    if isinstance(distribution, Fixed):
        return distribution.value
    if isinstance(distribution, Choice):
        return trial.suggest_categorical(name, list(distribution.values))
    if isinstance(distribution, IntRange):
        return trial.suggest_int(
            name, distribution.low, distribution.high, step=distribution.step, log=distribution.log
        )
    return trial.suggest_float(name, distribution.low, distribution.high, log=distribution.log)


def suggest_config(trial: optuna.trial.BaseTrial, space: SearchSpace, seed: int) -> TrainConfig:
    """Samples one `TrainConfig` from the space through the trial.

    Args:
        trial: a live trial, or `optuna.trial.FixedTrial` to rebuild a stored one.
        space: the study's search space.
        seed: the trial's seed (data order, augmentation, initial weights).
    """
    values: dict[str, Any] = {}
    for definition in PARAMETERS:
        if definition.augmentation and not values["augment"]:
            continue  # moot without augmentation; the config keeps its defaults
        values[definition.name] = _suggest(trial, definition.name, space.distributions[definition.name])
    return TrainConfig.from_values(values, seed=seed)


def config_from_params(space: SearchSpace, params: Mapping[str, Any], seed: int) -> TrainConfig:
    """Rebuilds the config of a stored trial from its sampled parameters."""
    import optuna

    return suggest_config(optuna.trial.FixedTrial(dict(params)), space, seed)


# The researchers' known-good configuration: batch size 8, 10 epochs of 100 steps, rotation 180,
# shifts 0.3, shear and zoom 0.1, both flips, constant fill, augmentation on.
BASELINE: dict[str, Scalar] = {
    "batch_size": 8,
    "max_epochs": 10,
    "steps_per_epoch": 100,
    "learning_rate": 1e-3,
    "loss": "bce_dice",
    "train_fraction": 1.0,
    "augment": True,
    "rotation": 180.0,
    "width_shift": 0.3,
    "height_shift": 0.3,
    "shear": 0.1,
    "zoom": 0.1,
    "horizontal_flip": True,
    "vertical_flip": True,
    "fill_mode": "constant",
    "elastic": 0.0,
}


def params_in_space(space: SearchSpace, params: Mapping[str, Scalar]) -> dict[str, Scalar]:
    """The subset of ``params`` that this space tunes and can produce, for enqueueing a trial.

    Values the space cannot produce (say batch size 8 when it only offers 16 and 32) are left
    for the sampler to choose, so an enqueued trial stays inside the space.
    """
    return {
        name: value
        for name, value in params.items()
        if not isinstance(space.distributions[name], Fixed) and _contains(space.distributions[name], value)
    }
