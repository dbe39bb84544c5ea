"""The study-wide budget against dead workers: a worker leaves only when finished trials fill it."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from hpo.cli import app
from storage import open_storage
from tests.tiny import write_tiny_space

runner = CliRunner()
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _create(storage: str, tmp_path: Path, n_trials: int) -> None:
    space = write_tiny_space(tmp_path)
    create = ["study", "create", "b", "--storage", storage, "--data", "synthetic:12", "--space", str(space),
              "--n-trials", str(n_trials), "--val-fraction", "0.25", "--pruner", "none",
              "--final-seeds", "0"]  # fmt: skip
    result = runner.invoke(app, create)
    assert result.exit_code == 0, result.output


def _dead_workers_trial(storage: str, grace_period: int) -> int:
    """A RUNNING trial with a fresh heartbeat whose process no longer exists (it never did)."""
    heartbeat = open_storage(storage, heartbeat_interval=1, grace_period=grace_period)
    study = optuna.load_study(study_name="b", storage=heartbeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Optuna warns that ask() sends no heartbeat
        trial = study.ask()
    trial.suggest_categorical("batch_size", [4])
    study._storage.record_heartbeat(trial._trial_id)  # type: ignore[attr-defined]
    return trial.number


@pytest.mark.slow
def test_a_worker_beside_a_dead_workers_running_trial_fills_the_budget(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'b.db'}"
    _create(storage, tmp_path, n_trials=1)
    dead = _dead_workers_trial(storage, grace_period=5)

    result = runner.invoke(
        app,
        ["worker", "b", "--storage", storage, "--artifacts", str(tmp_path / "art"), "--recycle-after", "0",
         "--heartbeat-interval", "1", "--grace-period", "5"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    trials = {t.number: t for t in optuna.load_study(study_name="b", storage=storage).trials}
    assert trials[dead].state == TrialState.FAIL
    (retry,) = [
        t for t in trials.values() if optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == dead
    ]
    assert retry.state in FINISHED
    assert trials[dead].params.items() <= retry.params.items()  # the dead trial's sampled values, kept
    assert sum(t.state in FINISHED for t in trials.values()) == 1
    assert not [t for t in trials.values() if t.state == TrialState.RUNNING]


@pytest.mark.slow
def test_a_worker_leaves_a_live_trial_to_its_worker_and_runs_the_rest(tmp_path: Path) -> None:
    # The "dead" trial's heartbeat stays fresh for the whole test (a long grace period): a worker
    # must not wait for it when the budget still has room, and must not touch it.
    storage = f"sqlite:///{tmp_path / 'b.db'}"
    _create(storage, tmp_path, n_trials=3)
    alive = _dead_workers_trial(storage, grace_period=600)

    result = runner.invoke(
        app,
        ["worker", "b", "--storage", storage, "--artifacts", str(tmp_path / "art"), "--recycle-after", "0",
         "--heartbeat-interval", "1", "--grace-period", "600", "--timeout", "600", "--max-wait", "1"],
    )  # fmt: skip
    trials = {t.number: t for t in optuna.load_study(study_name="b", storage=storage).trials}
    assert trials[alive].state == TrialState.RUNNING
    assert sum(t.state in FINISHED for t in trials.values()) == 2
    assert result.exit_code == 0, result.output
