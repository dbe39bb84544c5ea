"""The SQL storage's heartbeat across a moment without the database, on the real PostgreSQL server."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import optuna
import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from storage import open_storage
from tests.postgres import execute

pytestmark = pytest.mark.postgres


@contextmanager
def _database_refusing_connections(server_url: str, database: str) -> Iterator[None]:
    """``database`` accepts no connection and has none open (as during a restart) until the block ends."""
    execute(server_url, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        # The 5000 ms wait returns once each backend has exited, so no pooled connection survives.
        execute(
            server_url,
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = :name",
            {"name": database},
        )
        yield
    finally:
        execute(server_url, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')


def _heartbeat(storage: optuna.storages.RDBStorage, trial_id: int) -> datetime:
    with storage.engine.connect() as connection:
        query = sqlalchemy.text("SELECT heartbeat FROM trial_heartbeats WHERE trial_id = :id")
        value = connection.execute(query, {"id": trial_id}).scalar_one()
    assert isinstance(value, datetime)
    return value


def test_a_heartbeat_without_the_database_is_skipped_and_the_next_one_lands(
    postgres_server: str, postgres_url: str
) -> None:
    storage = open_storage(postgres_url, heartbeat_interval=1, grace_period=3)
    assert isinstance(storage, optuna.storages.RDBStorage)
    study = optuna.create_study(storage=storage, study_name="beat")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Optuna: heartbeats are meant for optimize()
        trial = study.ask()
    storage.record_heartbeat(trial._trial_id)
    first = _heartbeat(storage, trial._trial_id)

    with _database_refusing_connections(postgres_server, make_url(postgres_url).database or ""):
        # Optuna's own heartbeat raises here, and its heartbeat thread would end with it.
        with pytest.raises(optuna.exceptions.StorageInternalError):
            optuna.storages.RDBStorage.record_heartbeat(storage, trial._trial_id)
        storage.record_heartbeat(trial._trial_id)  # skipped, not raised

    storage.record_heartbeat(trial._trial_id)  # reconnects
    assert _heartbeat(storage, trial._trial_id) > first
