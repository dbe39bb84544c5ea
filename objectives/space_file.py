"""The written form of a search space: a TOML file, or the JSON-ready dict stored with a study.

Each parameter is written as a fixed value, a list of choices, or a range table::

    [space]
    batch_size = [8, 16]                                   # choices
    max_epochs = { low = 5, high = 10 }                    # int range
    learning_rate = { low = 1e-4, high = 1e-2, log = true }
    augment = true                                         # fixed

Every way a file or a value can be wrong is one `SearchSpaceError` naming the key at fault.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from objectives.parameters import (
    Choice,
    Distribution,
    Fixed,
    FloatRange,
    IntRange,
    ParameterDef,
    Scalar,
    check_value,
)

__all__ = ["SearchSpaceError", "distribution_to_raw", "parse_distribution", "read_toml"]


class SearchSpaceError(ValueError):
    """A search-space definition that cannot be used; the message names the key at fault."""


def _checked(definition: ParameterDef, value: Any, where: str) -> Scalar:
    """`check_value`, with its complaint raised as a `SearchSpaceError`."""
    try:
        return check_value(definition, value, where)
    except ValueError as error:
        raise SearchSpaceError(str(error)) from None


def _parse_choices(definition: ParameterDef, raw: list[Any] | tuple[Any, ...], where: str) -> Choice:
    if not raw:
        raise SearchSpaceError(f"{where}: a list of choices must not be empty")
    values = tuple(_checked(definition, value, f"{where}[{i}]") for i, value in enumerate(raw))
    if len(set(values)) != len(values):
        raise SearchSpaceError(f"{where}: choices must be distinct, but got {list(raw)!r}")
    return Choice(values)


def _parse_range(definition: ParameterDef, raw: Mapping[str, Any], where: str) -> IntRange | FloatRange:
    if definition.kind not in (int, float):
        raise SearchSpaceError(f"{where}: a range needs a numeric parameter; give a list of choices")
    unknown = set(raw) - {"low", "high", "log", "step"}
    if unknown or not {"low", "high"} <= set(raw):
        raise SearchSpaceError(
            f"{where}: a range takes keys low, high and optionally log (and step for integers), but got {sorted(raw)!r}"
        )
    low = _checked(definition, raw["low"], f"{where}.low")
    high = _checked(definition, raw["high"], f"{where}.high")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise SearchSpaceError(f"{where}.log: expected true or false, but got {log!r}")
    if low > high:  # type: ignore[operator]
        raise SearchSpaceError(f"{where}: low {low!r} is above high {high!r}")
    if log and low <= 0:  # type: ignore[operator]
        raise SearchSpaceError(f"{where}: a log range needs low > 0, but got {low!r}")
    if definition.kind is float:
        if "step" in raw:
            raise SearchSpaceError(f"{where}.step: only integer ranges take a step")
        return FloatRange(float(low), float(high), log=log)
    step = raw.get("step", 1)
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise SearchSpaceError(f"{where}.step: expected a positive integer, but got {step!r}")
    if log and step != 1:
        raise SearchSpaceError(f"{where}: a log range cannot have a step")
    return IntRange(int(low), int(high), step=step, log=log)


def parse_distribution(definition: ParameterDef, raw: Any) -> Distribution:
    """Reads one parameter's written form (or an already built distribution), checking its limits.

    Args:
        definition: the parameter.
        raw: a scalar (fixed), a list (choices), a table with ``low`` and ``high`` (a range), or
            a `Distribution`.
    """
    where = f"space.{definition.name}"
    if isinstance(raw, Fixed | Choice | IntRange | FloatRange):
        raw = distribution_to_raw(raw)
    if isinstance(raw, list | tuple):
        return _parse_choices(definition, raw, where)
    if isinstance(raw, Mapping):
        return _parse_range(definition, raw, where)
    return Fixed(_checked(definition, raw, where))


def distribution_to_raw(distribution: Distribution) -> Any:
    """The written form of a distribution, as TOML and JSON hold it; `parse_distribution` reads it."""
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


def read_toml(path: Path) -> dict[str, Any]:
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
