"""The search space: the one place that defines tunable parameters, their defaults and limits.

It is also the only module that calls ``trial.suggest_*``. A space maps each parameter name to a
distribution: a fixed value, a list of choices, or an int or float range. The defaults cover the
researchers' hand-tuned study (batch size 8/16/32, 5 to 20 epochs, rotation up to 180 degrees,
shift, shear and zoom up to 0.8, augmentation on or off, 90 % or all of the data). A TOML file
overrides any of them::

    [space]
    batch_size = [8, 16]                                   # choices
    max_epochs = { low = 5, high = 10 }                    # int range
    learning_rate = { low = 1e-4, high = 1e-2, log = true }
    augment = true                                         # fixed

Augmentation parameters are only sampled in trials where ``augment`` is true.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from objectives.config import FILL_MODES, LOSSES, AugmentConfig, TrainConfig, UNetConfig

if TYPE_CHECKING:
    import optuna

__all__ = [
    "PARAMETERS",
    "Choice",
    "Fixed",
    "FloatRange",
    "IntRange",
    "ParameterDef",
    "SearchSpace",
    "SearchSpaceError",
    "BASELINE",
    "params_in_space",
    "config_from_params",
    "suggest_config",
]

Scalar = bool | int | float | str


class SearchSpaceError(ValueError):
    """A search-space definition that cannot be used; the message names the key at fault."""


@dataclass(frozen=True)
class Fixed:
    value: Scalar


@dataclass(frozen=True)
class Choice:
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    step: int = 1
    log: bool = False


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    log: bool = False


Distribution = Fixed | Choice | IntRange | FloatRange


@dataclass(frozen=True)
class ParameterDef:
    """A tunable parameter: its type, the limits any space must respect, and its default."""

    name: str
    kind: type  # bool, int, float or str
    default: Distribution
    help: str
    limits: tuple[float, float] | None = None  # inclusive bounds for numbers
    options: tuple[str, ...] | None = None  # allowed values for strings
    augmentation: bool = False  # only sampled when augmentation is on


PARAMETERS: tuple[ParameterDef, ...] = (
    ParameterDef("image_size", int, Fixed(128), "square image side (px)", (16, 1024)),
    ParameterDef("batch_size", int, Choice((8, 16, 32)), "images per batch", (1, 512)),
    ParameterDef("max_epochs", int, IntRange(5, 20), "epochs at most", (1, 1000)),
    ParameterDef("steps_per_epoch", int, Choice((25, 50, 100)), "batches per epoch", (1, 100000)),
    ParameterDef(
        "learning_rate", float, FloatRange(1e-4, 1e-2, log=True), "Adam learning rate", (1e-7, 1.0)
    ),
    ParameterDef("loss", str, Choice(LOSSES), "training loss", options=LOSSES),
    ParameterDef("patience", int, Fixed(3), "early-stopping patience (epochs)", (0, 1000)),
    ParameterDef("train_fraction", float, Choice((0.9, 1.0)), "share of training data", (0.01, 1.0)),
    ParameterDef("base_filters", int, Choice((8, 16, 32)), "U-Net filters at level 1", (1, 256)),
    ParameterDef("depth", int, Fixed(4), "U-Net down-sampling steps", (1, 6)),
    ParameterDef("dilated_layers", int, IntRange(0, 3), "dilated bottleneck convolutions", (0, 6)),
    ParameterDef("batch_norm", bool, Fixed(True), "batch normalisation"),
    ParameterDef("dropout", float, FloatRange(0.0, 0.3), "bottleneck dropout", (0.0, 0.9)),
    ParameterDef("augment", bool, Choice((True, False)), "augmentation on or off"),
    ParameterDef("rotation", float, FloatRange(0.0, 180.0), "rotation range (deg)", (0.0, 180.0), augmentation=True),
    ParameterDef("width_shift", float, FloatRange(0.0, 0.8), "width shift range", (0.0, 1.0), augmentation=True),
    ParameterDef("height_shift", float, FloatRange(0.0, 0.8), "height shift range", (0.0, 1.0), augmentation=True),
    ParameterDef("shear", float, FloatRange(0.0, 0.8), "shear range", (0.0, 1.0), augmentation=True),
    ParameterDef("zoom", float, FloatRange(0.0, 0.8), "zoom range", (0.0, 0.95), augmentation=True),
    ParameterDef("horizontal_flip", bool, Choice((True, False)), "random left-right flips", augmentation=True),
    ParameterDef("vertical_flip", bool, Choice((True, False)), "random up-down flips", augmentation=True),
    ParameterDef(
        "fill_mode", str, Choice(FILL_MODES), "fill outside the image", options=FILL_MODES, augmentation=True
    ),
    ParameterDef("elastic", float, FloatRange(0.0, 0.5), "elastic deformation strength", (0.0, 1.0), augmentation=True),
)  # fmt: skip

_BY_NAME = {definition.name: definition for definition in PARAMETERS}


def _check_value(definition: ParameterDef, value: Any, where: str) -> Scalar:
    """Coerces one value to the parameter's type and checks it against its limits."""
    kind = definition.kind
    if kind is bool:
        if not isinstance(value, bool):
            raise SearchSpaceError(f"{where}: expected true or false, but got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str) or (definition.options and value not in definition.options):
            raise SearchSpaceError(f"{where}: expected one of {definition.options}, but got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SearchSpaceError(f"{where}: expected a number, but got {value!r}")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise SearchSpaceError(f"{where}: expected an integer, but got {value!r}")
        value = int(value)
    else:
        value = float(value)
    if definition.limits is not None:
        low, high = definition.limits
        if not low <= value <= high:
            raise SearchSpaceError(f"{where}: {value!r} is outside the allowed range [{low}, {high}]")
    return value


def _parse_distribution(definition: ParameterDef, raw: Any) -> Distribution:
    where = f"space.{definition.name}"
    if isinstance(raw, Fixed | Choice | IntRange | FloatRange):
        raw = _distribution_to_raw(raw)
    if isinstance(raw, list | tuple):
        if not raw:
            raise SearchSpaceError(f"{where}: a list of choices must not be empty")
        values = tuple(_check_value(definition, value, f"{where}[{i}]") for i, value in enumerate(raw))
        if len(set(values)) != len(values):
            raise SearchSpaceError(f"{where}: choices must be distinct, but got {list(raw)!r}")
        return Choice(values)
    if isinstance(raw, Mapping):
        if definition.kind not in (int, float):
            raise SearchSpaceError(f"{where}: a range needs a numeric parameter; give a list of choices")
        unknown = set(raw) - {"low", "high", "log", "step"}
        if unknown or not {"low", "high"} <= set(raw):
            raise SearchSpaceError(
                f"{where}: a range takes keys low, high and optionally log (and step for integers), "
                f"but got {sorted(raw)!r}"
            )
        low = _check_value(definition, raw["low"], f"{where}.low")
        high = _check_value(definition, raw["high"], f"{where}.high")
        log = raw.get("log", False)
        if not isinstance(log, bool):
            raise SearchSpaceError(f"{where}.log: expected true or false, but got {log!r}")
        if low > high:  # type: ignore[operator]
            raise SearchSpaceError(f"{where}: low {low!r} is above high {high!r}")
        if log and low <= 0:  # type: ignore[operator]
            raise SearchSpaceError(f"{where}: a log range needs low > 0, but got {low!r}")
        if definition.kind is int:
            step = raw.get("step", 1)
            if isinstance(step, bool) or not isinstance(step, int) or step < 1:
                raise SearchSpaceError(f"{where}.step: expected a positive integer, but got {step!r}")
            if log and step != 1:
                raise SearchSpaceError(f"{where}: a log range cannot have a step")
            return IntRange(int(low), int(high), step=step, log=log)
        if "step" in raw:
            raise SearchSpaceError(f"{where}.step: only integer ranges take a step")
        return FloatRange(float(low), float(high), log=log)
    return Fixed(_check_value(definition, raw, where))


def _distribution_to_raw(distribution: Distribution) -> Any:
    if isinstance(distribution, Fixed):
        return distribution.value
    if isinstance(distribution, Choice):
        return list(distribution.values)
    if isinstance(distribution, IntRange):
        return {
            "low": distribution.low,
            "high": distribution.high,
            "step": distribution.step,
            "log": distribution.log,
        }
    return {"low": distribution.low, "high": distribution.high, "log": distribution.log}


def _candidates(distribution: Distribution) -> list[Scalar]:
    """Values a distribution can produce, where that is a short list (used for cross-checks)."""
    if isinstance(distribution, Fixed):
        return [distribution.value]
    if isinstance(distribution, Choice):
        return list(distribution.values)
    return [distribution.low, distribution.high]


def _read_toml(path: Path) -> dict[str, Any]:
    """Parses a TOML file; every way it can fail is one `SearchSpaceError` naming the file."""
    where = f"search-space file {str(path)!r}"
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise SearchSpaceError(f"{where} does not exist") from error
    except IsADirectoryError as error:
        raise SearchSpaceError(f"{where} is a directory; give a .toml file") from error
    except PermissionError as error:
        raise SearchSpaceError(f"{where} cannot be read: permission denied") from error
    except OSError as error:
        raise SearchSpaceError(f"{where} cannot be read: {error.strerror or error}") from error
    try:
        # utf-8-sig: a byte-order mark (left by some Windows editors) is still UTF-8.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SearchSpaceError(
            f"{where} must be UTF-8, but line {line} holds byte {data[error.start]:#04x}; save it as UTF-8"
        ) from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        if message.endswith("(at end of document)"):  # name the line there too
            message = f"{message[:-1]}, after line {len(text.splitlines())})"
        raise SearchSpaceError(f"{where} is not valid TOML: {message}") from error


@dataclass(frozen=True)
class SearchSpace:
    """A complete, validated space: every parameter has a distribution."""

    distributions: Mapping[str, Distribution]

    def __post_init__(self) -> None:
        missing = [definition.name for definition in PARAMETERS if definition.name not in self.distributions]
        if missing:
            raise SearchSpaceError(f"space is missing parameters {missing}")
        depths = [int(v) for v in _candidates(self.distributions["depth"])]
        sizes = self.distributions["image_size"]
        if not isinstance(sizes, Fixed | Choice):
            raise SearchSpaceError("space.image_size: give a fixed size or a list of sizes, not a range")
        for size in _candidates(sizes):
            if int(size) % 2 ** max(depths):
                raise SearchSpaceError(f"space.image_size: {size!r} is not divisible by 2**depth = {2 ** max(depths)}")

    @classmethod
    def default(cls) -> SearchSpace:
        return cls({definition.name: definition.default for definition in PARAMETERS})

    def with_overrides(self, overrides: Mapping[str, Any]) -> SearchSpace:
        """Returns a copy with some parameters replaced, each checked against its definition."""
        distributions = dict(self.distributions)
        for name, raw in overrides.items():
            if name not in _BY_NAME:
                close = difflib.get_close_matches(name, _BY_NAME, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise SearchSpaceError(f"space.{name}: unknown parameter{hint} Known: {', '.join(_BY_NAME)}")
            distributions[name] = _parse_distribution(_BY_NAME[name], raw)
        return SearchSpace(distributions)

    @classmethod
    def from_toml(cls, path: Path, base: SearchSpace | None = None) -> SearchSpace:
        """Reads overrides from the ``[space]`` table of a TOML file."""
        document = _read_toml(Path(path))
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
        return {definition.name: _distribution_to_raw(self.distributions[definition.name]) for definition in PARAMETERS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        return cls.default().with_overrides(data)

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
            continue
        values[definition.name] = _suggest(trial, definition.name, space.distributions[definition.name])
    augment = (
        AugmentConfig(
            enabled=True,
            rotation_deg=values["rotation"],
            width_shift=values["width_shift"],
            height_shift=values["height_shift"],
            shear=values["shear"],
            zoom=values["zoom"],
            horizontal_flip=values["horizontal_flip"],
            vertical_flip=values["vertical_flip"],
            fill_mode=values["fill_mode"],
            elastic=values["elastic"],
        )
        if values["augment"]
        else AugmentConfig(enabled=False)
    )
    return TrainConfig(
        image_size=values["image_size"],
        batch_size=values["batch_size"],
        max_epochs=values["max_epochs"],
        steps_per_epoch=values["steps_per_epoch"],
        learning_rate=values["learning_rate"],
        loss=values["loss"],
        patience=values["patience"],
        train_fraction=values["train_fraction"],
        augment=augment,
        unet=UNetConfig(
            base_filters=values["base_filters"],
            depth=values["depth"],
            dilated_layers=values["dilated_layers"],
            batch_norm=values["batch_norm"],
            dropout=values["dropout"],
        ),
        seed=seed,
    )


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


def _contains(distribution: Distribution, value: Scalar) -> bool:
    if isinstance(distribution, Fixed):
        return distribution.value == value
    if isinstance(distribution, Choice):
        return value in distribution.values
    return distribution.low <= value <= distribution.high  # type: ignore[operator]


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
