"""How early validation DICE tells trials apart: the evidence for the warm-up of pruning and early stopping.

Runs an unpruned random study on real chest X-rays (``folder:../shared/data/shenzhen-256``) over
the default space, every trial trained for the same epochs with early stopping off, and tabulates,
epoch by epoch: how many optimizer steps a trial has taken, the Spearman rank correlation
between each trial's validation DICE at that epoch and its final score (the best validation DICE
of the run), and how many of the trials that ended in the top third were below the median at
that epoch, i.e. the good trials a median pruner judging there would have cut. The warm-up
before which no pruner or early stopping judges a trial (``objectives.config.WARMUP_STEPS``) is
chosen where the ranking has settled. Only the training and validation images are read.

Run: ``python -m bench.warmup [--trials 16] [--epochs 15] [--image-size 64] [--steps-per-epoch 10] [--seed 0]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.common import machine, publish, quiet_optuna
from bench.real_data import DEFAULT_DATA
from hpo.results.records import COMPLETE, TrialRecord, records_of
from hpo.study.presets import make_spec
from hpo.study.run import create_study, run_trials
from objectives.config import WARMUP_STEPS
from objectives.data import parse_source
from objectives.space import SearchSpace

__all__ = ["epoch_rows", "main", "spearman"]


def _ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks from 0, ties given their mean rank."""
    array = np.asarray(values, dtype=float)
    order = np.argsort(array, kind="stable")
    ranks = np.empty(len(array))
    ranks[order] = np.arange(len(array), dtype=float)
    for value in np.unique(array):
        tied = array == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(first: Sequence[float], second: Sequence[float]) -> float:
    """Spearman's rank correlation of two equally long samples; nan where a sample is constant."""
    if len(first) != len(second):
        raise ValueError("the samples differ in length")
    a, b = _ranks(first), _ranks(second)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def epoch_rows(records: Sequence[TrialRecord], steps_per_epoch: int) -> list[dict[str, Any]]:
    """One row per epoch: how well the complete trials' DICE there predicts their final score."""
    trials = [record for record in records if record.state == COMPLETE and record.value is not None]
    if not trials:
        return []
    finals = {record.number: float(record.value) for record in trials}  # type: ignore[arg-type]
    ranked = sorted(finals, key=finals.__getitem__, reverse=True)
    top = set(ranked[: max(1, len(ranked) // 3)])
    rows = []
    for epoch in range(max(max(record.intermediate, default=-1) for record in trials) + 1):
        reached = [record for record in trials if epoch in record.intermediate]
        if len(reached) < 2:
            break
        now = [record.intermediate[epoch] for record in reached]
        median = statistics.median(now)
        cut = sum(record.number in top and record.intermediate[epoch] < median for record in reached)
        rows.append({"epoch": epoch + 1, "optimizer steps": (epoch + 1) * steps_per_epoch, "trials": len(reached),
                     "rank correlation with final": spearman(now, [finals[r.number] for r in reached]),
                     "top third below median": f"{cut} of {len(top)}",
                     "mean val DICE": statistics.fmean(now)})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=f"folder:{DEFAULT_DATA}")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=15, help="every trial trains exactly this many epochs")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--steps-per-epoch", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="study seed (split and sampler)")
    arguments = parser.parse_args(argv)
    quiet_optuna()
    source = parse_source(arguments.data)
    fidelity = {"image_size": arguments.image_size, "steps_per_epoch": arguments.steps_per_epoch,
                "max_epochs": arguments.epochs}  # fmt: skip
    # Patience as long as the run: early stopping never ends a trial, so every epoch is seen.
    space = SearchSpace.default().with_overrides({**fidelity, "patience": arguments.epochs})
    spec, _ = make_spec(source, space, sampler="random", pruner="none", n_trials=arguments.trials,
                        seed=arguments.seed, final_seeds=0)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="lung-hpo-warmup-") as folder:
        handle = create_study(f"sqlite:///{folder}/warmup.db", "warmup", spec)
        run_trials(handle)
        records = records_of(handle.study)
    rows = epoch_rows(records, arguments.steps_per_epoch)
    complete = sum(record.state == COMPLETE for record in records)
    info = machine()
    info.update({"data": str(source), **fidelity, "trials": complete, "study seed": arguments.seed,
                 "warm-up steps in use": WARMUP_STEPS})  # fmt: skip
    publish(
        "warmup",
        "How early validation DICE ranks trials as their end does",
        rows,
        notes=[f"{complete} complete trials, random sampler over the default space, unpruned, early stopping off, "
               f"{arguments.epochs} epochs of {arguments.steps_per_epoch} steps each; the final score is the best "
               "validation DICE of the run. 'Top third below median': of the trials that ended in the top third, "
               "how many a median pruner judging at that epoch would have cut."],
        meta=info,
    )  # fmt: skip


if __name__ == "__main__":
    main()
