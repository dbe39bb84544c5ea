"""How early validation DICE tells trials apart: the evidence for the warm-up of pruning and early stopping.

Runs an unpruned random study on real chest X-rays (``folder:../shared/data/shenzhen-256``) over
the default space, every trial trained for the same epochs with early stopping off, and tabulates,
epoch by epoch: how many optimizer steps a trial has taken, the Spearman rank correlation
between each trial's validation DICE at that epoch and its final score (the best validation DICE
of the run), and how many of the trials that ended in the top third were below the median at
that epoch, i.e. the good trials a median pruner judging there would have cut. The warm-up
before which no pruner or early stopping judges a trial (``objectives.parameters.WARMUP_STEPS``) is
chosen where the ranking has settled. Only the training and validation images are read.

A second table replays the same learning curves through each pruner of `hpo.study.algorithms`
with warm-ups of several lengths, the trials arriving in many random orders: how many trials each
cut, the share of the training epochs it saved, and how far the best complete trial it left
falls below the best trial of all (its regret, in validation DICE). A pruner that saves epochs
by cutting the eventual winner shows here, on identical curves and without the noise of a
sampler; what a replay leaves out is the sampler learning from the trials a pruner let finish.

Run: ``python -m bench.warmup [--trials 16] [--epochs 15] [--image-size 64] [--steps-per-epoch 10] [--seed 0]``
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.common import machine, publish, quiet_optuna
from bench.curves import add_study_arguments, fidelity, random_study_records
from hpo.results.records import COMPLETE, TrialRecord
from hpo.study.algorithms import PrunerName, build_pruner
from objectives.data import parse_source
from objectives.parameters import WARMUP_STEPS, warmup_epochs

__all__ = ["REPLAY_WARMUPS", "epoch_rows", "main", "replay", "replay_rows", "spearman"]

# Warm-ups, in optimizer steps, that the replay tries with each pruner.
REPLAY_WARMUPS = (20, 50, 100)


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


def _complete_curves(records: Sequence[TrialRecord]) -> list[tuple[list[float], float]]:
    """Each complete trial's per-epoch validation DICE, in epoch order, and its final score."""
    return [
        ([record.intermediate[epoch] for epoch in sorted(record.intermediate)], float(record.value))
        for record in records
        if record.state == COMPLETE and record.value is not None and record.intermediate
    ]


def replay(pruner: str, warmup: int, curves: Sequence[tuple[list[float], float]]) -> tuple[int, int, float]:
    """Runs recorded curves, in the order given, through a fresh study with that pruner.

    Returns the trials it pruned, the epochs it let them train, and the best final score among the
    trials it let finish.
    """
    import optuna

    study = optuna.create_study(direction="maximize", pruner=build_pruner(pruner, warmup))
    pruned, epochs, best = 0, 0, float("-inf")
    for curve, final in curves:
        trial = study.ask()
        for epoch, value in enumerate(curve):
            trial.report(value, epoch)
            epochs += 1
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                pruned += 1
                break
        else:
            study.tell(trial, final)
            best = max(best, final)
    return pruned, epochs, best


def replay_rows(
    records: Sequence[TrialRecord], steps_per_epoch: int, orders: int = 20, seed: int = 0
) -> list[dict[str, Any]]:
    """One row per pruner and warm-up: its verdicts on the recorded curves, averaged over orders."""
    curves = _complete_curves(records)
    if not curves:
        return []
    total = sum(len(curve) for curve, _ in curves)
    top = max(final for _, final in curves)
    shuffles = []
    generator = random.Random(seed)
    for _ in range(orders):
        shuffled = list(curves)
        generator.shuffle(shuffled)
        shuffles.append(shuffled)
    rows = []
    for pruner in PrunerName:
        for steps in REPLAY_WARMUPS if pruner != PrunerName.none else (0,):
            epochs_first = warmup_epochs(steps, steps_per_epoch)
            runs = [replay(pruner.value, epochs_first, shuffled) for shuffled in shuffles]
            regrets = [top - best for _, _, best in runs]
            rows.append({"pruner": pruner.value, "warm-up steps": steps if pruner != PrunerName.none else "",
                         "trials pruned": statistics.fmean(p for p, _, _ in runs),
                         "epochs saved": 1 - statistics.fmean(e for _, e, _ in runs) / total,
                         "mean regret (val DICE)": statistics.fmean(regrets),
                         "worst regret": max(regrets),
                         "best trial kept": f"{sum(r == 0 for r in regrets)} of {orders}"})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_study_arguments(parser, trials=16, epochs=15, epochs_help="every trial trains exactly this many epochs",
                        seed_help="study seed (split and sampler) and replay orders")  # fmt: skip
    parser.add_argument("--orders", type=int, default=20, help="random trial orders each pruner is replayed in")
    arguments = parser.parse_args(argv)
    quiet_optuna()
    source = parse_source(arguments.data)
    fixed = fidelity(arguments)
    # Patience as long as the run: early stopping never ends a trial, so every epoch is seen.
    records = random_study_records(source, {**fixed, "patience": arguments.epochs}, trials=arguments.trials,
                                   seed=arguments.seed, name="warmup")  # fmt: skip
    rows = epoch_rows(records, arguments.steps_per_epoch)
    replayed = replay_rows(records, arguments.steps_per_epoch, orders=arguments.orders, seed=arguments.seed)
    complete = sum(record.state == COMPLETE for record in records)
    info = machine()
    info.update({"data": str(source), **fixed, "trials": complete, "study seed": arguments.seed,
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
    publish(
        "pruner-replay",
        "Pruners replayed on the same learning curves: epochs saved against the best trial lost",
        replayed,
        notes=[f"The {complete} curves of bench.warmup, each trial's validation DICE per epoch of "
               f"{arguments.steps_per_epoch} steps, sent through a fresh study with each pruner in "
               f"{arguments.orders} random orders. Regret: the best final score of all trials minus the best "
               "final score among the trials the pruner let finish; the sampler's response to pruning is not "
               "modelled."],
        meta=info,
    )  # fmt: skip


if __name__ == "__main__":
    main()
