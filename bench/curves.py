"""Learning curves from real data: the unpruned random study that `bench.space` and `bench.warmup` read.

Both benchmarks run the same kind of study: the random sampler, no pruner, no final score, at one
fidelity (image side, optimizer steps per epoch, epochs) chosen on the command line, in a
throw-away SQLite file. They differ in the space they sample and in what they tabulate from the
trials, so this module holds the shared part: the command-line arguments of the study, the
fidelity they define, and the study itself.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Mapping
from typing import Any

from bench.real_data import DEFAULT_DATA
from hpo.results.records import TrialRecord, records_of
from hpo.study.presets import make_spec
from hpo.study.run import create_study, run_trials
from objectives.data import DataSource
from objectives.space import SearchSpace

__all__ = ["add_study_arguments", "fidelity", "random_study_records"]


def add_study_arguments(
    parser: argparse.ArgumentParser, *, trials: int, epochs: int, epochs_help: str, seed_help: str
) -> None:
    """Add ``--data --trials --epochs --image-size --steps-per-epoch --seed`` with these defaults."""
    parser.add_argument("--data", default=f"folder:{DEFAULT_DATA}")
    parser.add_argument("--trials", type=int, default=trials)
    parser.add_argument("--epochs", type=int, default=epochs, help=epochs_help)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--steps-per-epoch", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help=seed_help)


def fidelity(arguments: argparse.Namespace) -> dict[str, int]:
    """The space overrides that fix every trial's fidelity, from `add_study_arguments`' arguments."""
    return {
        "image_size": arguments.image_size,
        "steps_per_epoch": arguments.steps_per_epoch,
        "max_epochs": arguments.epochs,
    }


def random_study_records(
    source: DataSource, overrides: Mapping[str, Any], *, trials: int, seed: int, name: str
) -> list[TrialRecord]:
    """Run an unpruned random study over the default space with ``overrides``; its trials' records.

    Args:
        name: the study's name, and the prefix of its temporary folder.
    """
    space = SearchSpace.default().with_overrides(overrides)
    spec, _ = make_spec(source, space, sampler="random", pruner="none", n_trials=trials, seed=seed, final_seeds=0)
    with tempfile.TemporaryDirectory(prefix=f"lung-hpo-{name}-") as folder:
        handle = create_study(f"sqlite:///{folder}/{name}.db", name, spec)
        run_trials(handle)
        return records_of(handle.study)
