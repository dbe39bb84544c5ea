"""`bench.space`: its table of validation DICE by searched value, from real Optuna trials."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from bench.space import value_rows
from hpo.results.records import TrialRecord
from tests.bench_tests.running import run_bench

_DISTRIBUTIONS = {
    "learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True),
    "base_filters": optuna.distributions.CategoricalDistribution([8, 16, 32]),
}


def _trial(value: float | None, learning_rate: float, base_filters: int) -> TrialRecord:
    state = optuna.trial.TrialState.COMPLETE if value is not None else optuna.trial.TrialState.PRUNED
    trial = optuna.trial.create_trial(
        state=state,
        value=value,
        params={"learning_rate": learning_rate, "base_filters": base_filters},
        distributions=_DISTRIBUTIONS,
    )
    return TrialRecord.from_trial(trial)


def test_value_rows_bin_learning_rates_and_tabulate_choices_from_complete_trials_only() -> None:
    trials = [_trial(0.6, 1e-4, 8), _trial(0.8, 2e-4, 16), _trial(0.9, 2e-3, 16), _trial(0.95, 1e-2, 32),
              _trial(None, 1.5e-4, 8)]  # fmt: skip  # the pruned trial counts nowhere
    rows = {(row["parameter"], row["value"]): row for row in value_rows(trials)}
    assert list(rows) == [
        ("learning_rate", "0.0001 to 0.00025"),
        ("learning_rate", "0.001 to 0.0025"),
        ("learning_rate", "0.005 to 0.01"),  # the top edge falls in the last bin
        ("base_filters", "8"),
        ("base_filters", "16"),
        ("base_filters", "32"),
    ]
    low = rows["learning_rate", "0.0001 to 0.00025"]
    assert (low["trials"], low["worst val DICE"], low["best val DICE"]) == (2, 0.6, 0.8)
    assert low["mean val DICE"] == pytest.approx(0.7)
    assert rows["base_filters", "16"]["mean val DICE"] == pytest.approx(0.85)
    assert rows["base_filters", "8"]["trials"] == 1


@pytest.mark.slow  # a real random study, end to end
def test_bench_space_runs_a_random_study_and_writes_its_table(tmp_path: Path) -> None:
    completed = run_bench("bench.space", ["--data", "synthetic:24", "--image-size", "32", "--steps-per-epoch", "1",
                                          "--epochs", "2", "--trials", "3"], tmp_path, timeout=540)  # fmt: skip
    assert "A new study created" not in completed.stderr  # Optuna's INFO lines stay off the terminal
    document = json.loads((tmp_path / "space.json").read_text())
    assert document["machine"]["trials"] == 3 and document["machine"]["max_epochs"] == 2
    counted = [row for row in document["rows"] if row["parameter"] == "learning_rate"]
    assert sum(row["trials"] for row in counted) == 3  # each complete trial lands in one bin
    assert {row["parameter"] for row in document["rows"]} >= {"learning_rate", "base_filters", "batch_size"}
