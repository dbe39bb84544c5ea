"""Opening SQLite and journal storages, option checks, and failing fast without a server."""

from __future__ import annotations

import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from storage import DEFAULT_STORAGE_URL, StorageError, open_storage


def _objective(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", -1.0, 1.0) ** 2


def _run(storage: optuna.storages.BaseStorage, name: str, n_trials: int) -> None:
    study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True)
    study.optimize(_objective, n_trials=n_trials)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a hung or firewalled server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_default_url_is_a_local_sqlite_file() -> None:
    assert DEFAULT_STORAGE_URL == "sqlite:///hpo.db"


def test_sqlite_creates_its_directory_and_keeps_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/runs/nested/hpo.db"
    _run(open_storage(url), "s", 3)
    assert (tmp_path / "runs" / "nested" / "hpo.db").is_file()
    reopened = optuna.load_study(study_name="s", storage=open_storage(url))
    assert len(reopened.get_trials(states=(TrialState.COMPLETE,))) == 3


def test_sqlite_has_heartbeat_and_retry(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/hpo.db", heartbeat_interval=3, grace_period=7)
    assert isinstance(storage, optuna.storages.RDBStorage)
    assert storage.get_heartbeat_interval() == 3
    assert storage.grace_period == 7
    callback = storage.get_heartbeat_stale_trial_callback()
    assert isinstance(callback, optuna.storages.RetryHeartbeatStaleTrialCallback)


def test_opening_does_not_warn(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_storage(f"sqlite:///{tmp_path}/hpo.db")


def test_abandoned_sqlite_trial_is_failed_and_retried_by_the_next_run(tmp_path: Path) -> None:
    # A process killed mid-trial leaves it RUNNING with an old heartbeat; ask() stands in for it.
    storage = open_storage(f"sqlite:///{tmp_path}/hpo.db", heartbeat_interval=1, grace_period=2)
    assert isinstance(storage, optuna.storages.RDBStorage)
    study = optuna.create_study(study_name="s", storage=storage)
    with pytest.warns(UserWarning, match="Heartbeat .* Study.optimize"):
        abandoned = study.ask()
    abandoned.suggest_float("x", -1.0, 1.0)
    storage.record_heartbeat(abandoned._trial_id)
    time.sleep(3.2)  # past the grace period at SQLite's one-second clock resolution

    study.optimize(_objective, n_trials=1)

    trials = study.get_trials(deepcopy=False)
    assert trials[abandoned.number].state is TrialState.FAIL
    retried = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(retried) == 1
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback
    assert retry.retried_trial_number(retried[0]) == abandoned.number
    assert retried[0].params == abandoned.params


def test_journal_creates_its_file_and_keeps_trials(tmp_path: Path) -> None:
    url = f"journal:///{tmp_path}/shared/hpo.log"
    storage = open_storage(url)
    assert isinstance(storage, optuna.storages.JournalStorage)
    _run(storage, "s", 3)
    assert (tmp_path / "shared" / "hpo.log").is_file()
    reopened = optuna.load_study(study_name="s", storage=open_storage(url))
    assert len(reopened.get_trials(states=(TrialState.COMPLETE,))) == 3


@pytest.mark.parametrize("scheme", ["sqlite", "journal"])
def test_a_directory_where_the_file_should_be_is_a_storage_error(tmp_path: Path, scheme: str) -> None:
    url = f"{scheme}:///{tmp_path}"
    with pytest.raises(StorageError, match="cannot open storage"):
        open_storage(url)
    with pytest.raises(StorageError, match="does not exist"):
        open_storage(url, must_exist=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scheme", ["sqlite", "journal"])
def test_must_exist_refuses_a_missing_file_and_creates_nothing(tmp_path: Path, scheme: str) -> None:
    url = f"{scheme}:///{tmp_path}/not/yet/hpo.db"
    with pytest.raises(StorageError, match=r"no storage at .* does not exist; create a study first"):
        open_storage(url, must_exist=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scheme", ["sqlite", "journal"])
def test_must_exist_opens_a_storage_that_is_there(tmp_path: Path, scheme: str) -> None:
    url = f"{scheme}:///{tmp_path}/hpo.db"
    _run(open_storage(url), "s", 1)
    study = optuna.load_study(study_name="s", storage=open_storage(url, must_exist=True))
    assert len(study.trials) == 1


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"heartbeat_interval": 0}, "heartbeat_interval"),
        ({"heartbeat_interval": 2.5}, "heartbeat_interval"),
        ({"heartbeat_interval": True}, "heartbeat_interval"),
        ({"grace_period": -1}, "grace_period"),
        ({"heartbeat_interval": 10, "grace_period": 10}, "grace_period"),
        ({"max_retry": -1}, "max_retry"),
        ({"connect_timeout": 0}, "connect_timeout"),
    ],
)
def test_options_out_of_range(tmp_path: Path, options: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} .* but got"):
        open_storage(f"sqlite:///{tmp_path}/hpo.db", **options)  # type: ignore[arg-type]
    assert not (tmp_path / "hpo.db").exists()


def test_unsupported_url() -> None:
    with pytest.raises(StorageError, match="unsupported storage URL 'redis://h:\\*\\*\\*@h/0'"):
        open_storage("redis://h:hunter2@h/0")


def test_refused_connection_fails_fast_on_one_masked_line() -> None:
    url = "postgresql://u:hunter2@127.0.0.1:1/db"  # nothing listens on port 1
    start = time.monotonic()
    with pytest.raises(StorageError) as caught:
        open_storage(url)
    assert time.monotonic() - start < 5
    message = str(caught.value)
    assert "postgresql://u:***@127.0.0.1:1/db" in message
    assert "refused" in message
    assert "hunter2" not in message
    assert "\n" not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_silent_server_times_out_instead_of_hanging(silent_port: int) -> None:
    url = f"postgresql://u:hunter2@127.0.0.1:{silent_port}/db"
    start = time.monotonic()
    with pytest.raises(StorageError, match="timeout") as caught:
        open_storage(url, connect_timeout=1)
    assert time.monotonic() - start < 4
    assert "hunter2" not in str(caught.value)
