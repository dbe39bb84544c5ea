"""Which ranges of the search space are worth searching: a random study over wider ranges, per value.

Runs an unpruned random study on real chest X-rays (``folder:../shared/data/shenzhen-256``) over
the default space with the ranges it had before they were narrowed (learning rates from 1e-4),
every trial trained for the same epochs at one fidelity, and tabulates the
validation DICE of the trials by each searched value: learning rate in bins, the choices as they
are. A range whose trials all score low is one the default space can leave out. Only the
training and validation images are read; the split's locked test images are not.

Run: ``python -m bench.space [--trials 24] [--epochs 8] [--image-size 64] [--steps-per-epoch 10] [--seed 0]``
"""

from __future__ import annotations

import argparse
import bisect
import statistics
from collections.abc import Iterable
from typing import Any

from bench.common import machine, publish, quiet_optuna
from bench.curves import add_study_arguments, fidelity, random_study_records
from hpo.results.records import COMPLETE, TrialRecord, best
from objectives.data import parse_source

__all__ = ["PREVIOUS_RANGES", "main", "value_rows"]

# The default ranges before bench.space narrowed them; bench.search's "previous" arm uses them too.
PREVIOUS_RANGES: dict[str, Any] = {"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}}
# Learning-rate bins: [edge, next edge).
LEARNING_RATE_EDGES = (1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2)
# Searched choices tabulated value by value.
CHOICES = ("base_filters", "batch_size", "loss", "augment", "dilated_layers")


def _learning_rate_bin(value: float) -> int:
    """The index of the bin ``[LEARNING_RATE_EDGES[i], LEARNING_RATE_EDGES[i + 1])``; the top edge is in the last."""
    return min(bisect.bisect_right(LEARNING_RATE_EDGES, value) - 1, len(LEARNING_RATE_EDGES) - 2)


def value_rows(records: Iterable[TrialRecord]) -> list[dict[str, Any]]:
    """One row per parameter value (learning rates in bins): how its complete trials scored."""
    scores: dict[str, dict[Any, list[float]]] = {name: {} for name in ("learning_rate", *CHOICES)}
    for record in records:
        if record.state != COMPLETE or record.value is None:
            continue
        for name, by_value in scores.items():
            if name in record.params:
                value = record.params[name]
                key = _learning_rate_bin(float(value)) if name == "learning_rate" else value
                by_value.setdefault(key, []).append(record.value)
    rows = []
    for name, by_value in scores.items():
        for key, values in sorted(by_value.items()):
            label = (
                f"{LEARNING_RATE_EDGES[key]:g} to {LEARNING_RATE_EDGES[key + 1]:g}" if name == "learning_rate" else key
            )
            rows.append({"parameter": name, "value": str(label), "trials": len(values),
                         "mean val DICE": statistics.fmean(values), "best val DICE": max(values),
                         "worst val DICE": min(values)})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_study_arguments(parser, trials=24, epochs=8, epochs_help="every trial trains this many epochs at most",
                        seed_help="study seed (split and sampler)")  # fmt: skip
    arguments = parser.parse_args(argv)
    quiet_optuna()
    source = parse_source(arguments.data)
    fixed = fidelity(arguments)
    records = random_study_records(source, {**fixed, **PREVIOUS_RANGES}, trials=arguments.trials,
                                   seed=arguments.seed, name="space")  # fmt: skip
    rows = value_rows(records)
    top = best(records)
    complete = sum(record.state == COMPLETE for record in records)
    reached = "" if top is None else f"; the best, #{top.number}, reached validation DICE {top.value:.4f}"
    info = machine()
    info.update({"data": str(source), **fixed, "trials": complete, "study seed": arguments.seed})
    publish(
        "space",
        "Validation DICE by searched value: a random study over the wider ranges",
        rows,
        notes=[f"{complete} complete trials, random sampler, unpruned, each up to {arguments.epochs} epochs{reached}."],
        meta=info,
    )


if __name__ == "__main__":
    main()
