"""Running trials without a heartbeat: failed and queued again once a grace period has passed."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from storage import open_storage
from storage.heartbeats import ORPHAN_FAILURE, fail_orphaned_trials, orphaned_trial_ids

GRACE_S = 3


def _ask(study: optuna.Study) -> optuna.trial.Trial:
    """A RUNNING trial with no heartbeat: what a worker leaves when it loses the storage right after creating it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Heartbeat ... supposed to be used with Study.optimize"
        return study.ask()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def study(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[optuna.Study]:
    url = f"sqlite:///{tmp_path}/h.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    storage = open_storage(url, heartbeat_interval=1, grace_period=GRACE_S)
    yield optuna.create_study(storage=storage, study_name="h")


def test_a_trial_without_heartbeat_is_failed_and_queued_again_after_the_grace_period(study: optuna.Study) -> None:
    orphan = _ask(study)
    orphan.suggest_float("x", 0, 1)
    later = datetime.now() + timedelta(seconds=GRACE_S + 1)

    assert orphaned_trial_ids(study) == []  # just created: its worker may record a heartbeat yet
    assert fail_orphaned_trials(study, now=later) == [orphan.number]

    trials = study.trials
    assert trials[orphan.number].state == TrialState.FAIL
    assert trials[orphan.number].user_attrs["failure"] == ORPHAN_FAILURE
    (queued,) = [t for t in trials if t.state == TrialState.WAITING]
    assert queued.params == trials[orphan.number].params  # the retry runs the same configuration
    assert fail_orphaned_trials(study, now=later) == []  # once only


def test_a_trial_with_a_heartbeat_is_left_to_optunas_own_check(study: optuna.Study) -> None:
    alive = _ask(study)
    study._storage._backend.record_heartbeat(alive._trial_id)  # type: ignore[attr-defined]
    later = datetime.now() + timedelta(seconds=GRACE_S + 1)
    assert orphaned_trial_ids(study, now=later) == []
    assert study.trials[alive.number].state == TrialState.RUNNING


def test_finished_trials_are_never_orphans(study: optuna.Study) -> None:
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    study.tell(_ask(study), 0.5)
    assert orphaned_trial_ids(study, now=datetime.now() + timedelta(hours=1)) == []


def test_storages_without_heartbeat_have_no_orphans(tmp_path: Path) -> None:
    study = optuna.create_study(storage=open_storage(f"journal:///{tmp_path}/j.log"))
    _ask(study)
    assert fail_orphaned_trials(study, now=datetime.now() + timedelta(hours=1)) == []
