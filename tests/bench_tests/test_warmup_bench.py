"""`bench.warmup`: the rank correlation by epoch, on hand-worked samples and real Optuna trials."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import optuna
import pytest

from bench.warmup import REPLAY_WARMUPS, epoch_rows, replay, replay_rows, spearman
from hpo.results.records import TrialRecord
from hpo.study.algorithms import PrunerName
from tests.bench_tests.running import run_bench


def test_spearman_on_hand_worked_samples() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks 0..3 against 1, 0, 3, 2: sum of squared rank differences 4, so 1 - 6 * 4 / (4 * 15) = 0.6
    assert spearman([0.1, 0.2, 0.3, 0.4], [0.5, 0.4, 0.9, 0.8]) == pytest.approx(0.6)
    assert spearman([1, 1, 2], [3, 3, 1]) == pytest.approx(-1.0)  # ties take their mean rank
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="differ in length"):
        spearman([1, 2], [1, 2, 3])


def _trial(number: int, curve: list[float], final: float | None) -> TrialRecord:
    state = optuna.trial.TrialState.COMPLETE if final is not None else optuna.trial.TrialState.PRUNED
    trial = optuna.trial.create_trial(state=state, value=final, intermediate_values=dict(enumerate(curve)))
    return dataclasses.replace(TrialRecord.from_trial(trial), number=number)  # as numbered in a study


def test_epoch_rows_rank_each_epoch_against_the_final_scores_of_complete_trials() -> None:
    trials = [
        _trial(0, [0.9, 0.5], 0.5),  # first at epoch 1, last at the end
        _trial(1, [0.8, 0.7], 0.7),
        _trial(2, [0.1, 0.9], 0.95),  # last at epoch 1, first at the end: a median pruner there cuts it
        _trial(3, [0.2], None),  # pruned: counts nowhere
    ]
    rows = epoch_rows(trials, steps_per_epoch=10)
    assert [row["optimizer steps"] for row in rows] == [10, 20]
    assert [row["trials"] for row in rows] == [3, 3]
    assert rows[0]["rank correlation with final"] == pytest.approx(-1.0)
    assert rows[1]["rank correlation with final"] == pytest.approx(1.0)
    assert rows[0]["top third below median"] == "1 of 1"
    assert rows[1]["top third below median"] == "0 of 1"
    assert epoch_rows([_trial(0, [0.2], None)], steps_per_epoch=10) == []


# Three good trials, then one far behind from its first epoch, then one that starts worst and ends best.
CURVES = [([0.5, 0.8, 0.9], 0.9), ([0.6, 0.8, 0.9], 0.91), ([0.5, 0.7, 0.9], 0.9), ([0.1, 0.1, 0.1], 0.1),
          ([0.2, 0.3, 0.95], 0.95)]  # fmt: skip


def test_replay_counts_what_a_real_pruner_cuts_and_the_best_it_leaves() -> None:
    assert replay("none", 0, CURVES) == (0, 15, 0.95)
    # the median pruner judges from the fourth trial, after the one-epoch warm-up: both late
    # trials fall below the median at epoch 2 and are cut there, the late bloomer with them
    assert replay("median", 1, CURVES) == (2, 13, 0.91)
    # with a warm-up of all but the last epoch, the late bloomer reaches its best and is kept
    assert replay("median", 2, CURVES) == (1, 15, 0.95)


def test_replay_rows_average_over_orders_and_measure_regret() -> None:
    records = [_trial(number, curve, final) for number, (curve, final) in enumerate(CURVES)]
    rows = replay_rows(records, steps_per_epoch=10, orders=4)
    unpruned = next(row for row in rows if row["pruner"] == "none")
    assert (unpruned["trials pruned"], unpruned["epochs saved"], unpruned["worst regret"]) == (0, 0, 0)
    assert unpruned["best trial kept"] == "4 of 4"
    median = [row for row in rows if row["pruner"] == "median"]
    assert [row["warm-up steps"] for row in median] == list(REPLAY_WARMUPS)
    assert all(0 <= row["epochs saved"] < 1 and row["mean regret (val DICE)"] >= 0 for row in rows)


@pytest.mark.slow  # a real random study, end to end
def test_bench_warmup_runs_a_study_and_writes_its_table(tmp_path: Path) -> None:
    run_bench("bench.warmup", ["--data", "synthetic:24", "--image-size", "32", "--steps-per-epoch", "1",
                               "--epochs", "3", "--trials", "3"], tmp_path, timeout=540)  # fmt: skip
    document = json.loads((tmp_path / "warmup.json").read_text())
    assert [row["epoch"] for row in document["rows"]] == [1, 2, 3]  # early stopping is off: every epoch is seen
    assert all(row["trials"] == 3 for row in document["rows"])
    replayed = json.loads((tmp_path / "pruner-replay.json").read_text())
    assert {row["pruner"] for row in replayed["rows"]} == {pruner.value for pruner in PrunerName}
