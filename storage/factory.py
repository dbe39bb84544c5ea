"""Turns a storage URL into an Optuna storage, failing fast with a one-line, masked error.

Heartbeats are on for SQLite as well as PostgreSQL: on one machine they are what turns a trial
whose process was killed (the OOM killer, a lost session) from RUNNING forever into FAIL plus a
queued retry, picked up by the next run. Heartbeats run only under ``Study.optimize``; Optuna
warns (``UserWarning``) when ``Study.ask`` is used on such a storage. Optuna's journal storage has
no heartbeat, so a killed trial there stays RUNNING: the price of any shared file system.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.errors import StorageError
from storage.urls import StorageKind, StorageUrl, error_message, mask_url, parse_storage_url

if TYPE_CHECKING:
    import optuna

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_MAX_RETRY",
    "DEFAULT_STORAGE_URL",
    "StorageError",
    "connect_args",
    "open_storage",
]

DEFAULT_STORAGE_URL = "sqlite:///hpo.db"
_SQLITE_BUSY_TIMEOUT = 60  # seconds a SQLite write waits for a lock
# Seconds between two heartbeats of a running trial: one small UPDATE each.
DEFAULT_HEARTBEAT_INTERVAL = 10
# Seconds without a heartbeat before a trial counts as dead; several intervals, so a busy server
# or a paused VM does not fail a live trial.
DEFAULT_GRACE_PERIOD = 60
# Runs of a trial failed by the heartbeat beyond the first; a trial that kills its worker every
# time (out of memory) must not loop forever.
DEFAULT_MAX_RETRY = 3
# Seconds libpq waits for an unreachable PostgreSQL server before giving up.
DEFAULT_CONNECT_TIMEOUT = 5

# Per worker process: one connection for the trial loop and one for the heartbeat thread, plus
# a little overflow; 8 workers then hold at most 32 of PostgreSQL's default 100 connections.
_POOL_SIZE = 2
_MAX_OVERFLOW = 2
# Seconds to wait for a free pooled connection before raising rather than hanging.
_POOL_TIMEOUT = 30
# Names the workers' connections in pg_stat_activity.
_APPLICATION_NAME = "lung-hpo"
# TCP keepalives (seconds, probes) notice a server that vanished without closing the socket.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10}


def open_storage(
    url: str,
    *,
    heartbeat_interval: int = DEFAULT_HEARTBEAT_INTERVAL,
    grace_period: int = DEFAULT_GRACE_PERIOD,
    max_retry: int | None = DEFAULT_MAX_RETRY,
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
    must_exist: bool = False,
) -> optuna.storages.BaseStorage:
    """Opens the storage at ``url``, creating its tables or file if needed (unless ``must_exist``).

    The connection is made here, not at the first trial, so a wrong URL, database or server
    fails in seconds with a ``StorageError`` rather than after the data has loaded.

    Args:
        url: ``sqlite:///FILE``, ``postgresql://...``, ``postgresql+psycopg2://...`` or
            ``journal:///FILE``; parent directories of a file are created.
        heartbeat_interval: Seconds between heartbeats of a running trial (SQL storages).
        grace_period: Seconds without a heartbeat before a trial is failed and queued again.
        max_retry: How many times a trial failed by the heartbeat is queued again; None for
            no limit.
        connect_timeout: Seconds to wait for a PostgreSQL server that does not answer.
        must_exist: A file storage must be there already: reading a study or attaching a worker
            must not leave an empty database behind a mistyped path.

    Raises:
        StorageError: The URL has no accepted form or the storage cannot be opened.
        ValueError: An option is out of range.
    """
    _check_options(heartbeat_interval, grace_period, max_retry, connect_timeout)
    target = parse_storage_url(url)
    if must_exist and target.path is not None and not target.path.is_file():
        raise StorageError(
            f"no storage at {mask_url(url)!r}: {str(target.path)!r} does not exist; create a study first "
            "(hpo study create) or check --storage"
        )
    if target.path is not None:
        _make_parent(target.path, url)
    if target.kind is StorageKind.JOURNAL:
        return _open_journal(target, url)
    return _open_rdb(target, url, heartbeat_interval, grace_period, max_retry, connect_timeout)


def _check_options(heartbeat_interval: int, grace_period: int, max_retry: int | None, connect_timeout: int) -> None:
    _check_positive("heartbeat_interval", heartbeat_interval)
    _check_positive("grace_period", grace_period)
    _check_positive("connect_timeout", connect_timeout)
    if grace_period <= heartbeat_interval:
        raise ValueError(
            f"grace_period must exceed heartbeat_interval ({heartbeat_interval} s) but got {grace_period!r}"
        )
    if max_retry is not None and (not _is_int(max_retry) or max_retry < 0):
        raise ValueError(f"max_retry must be None or a non-negative int but got {max_retry!r}")


def _check_positive(name: str, value: int) -> None:
    # Optuna stores heartbeat settings as whole seconds and libpq reads connect_timeout as one.
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive whole number of seconds but got {value!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _open_rdb(
    target: StorageUrl,
    url: str,
    heartbeat_interval: int,
    grace_period: int,
    max_retry: int | None,
    connect_timeout: int,
) -> optuna.storages.RDBStorage:
    import optuna

    from storage.rdb import HeartbeatTolerantRDBStorage

    engine_kwargs: dict[str, Any] = {}
    if target.kind is StorageKind.POSTGRESQL:
        engine_kwargs = {
            "pool_size": _POOL_SIZE,
            "max_overflow": _MAX_OVERFLOW,
            "pool_timeout": _POOL_TIMEOUT,
            # A connection the server dropped (restart, idle kill, failover) is replaced on
            # checkout instead of failing the worker's next query.
            "pool_pre_ping": True,
            "connect_args": connect_args(connect_timeout),
        }
    elif target.kind is StorageKind.SQLITE:
        # The heartbeat thread writes beside the trial; on a loaded machine a write can wait for
        # the other longer than SQLite's default 5 s before "database is locked".
        engine_kwargs = {"connect_args": {"timeout": _SQLITE_BUSY_TIMEOUT}}
    # Optuna formats the URL as a template ({SCHEMA_VERSION}); braces in a password must survive.
    template = target.url.replace("{", "{{").replace("}", "}}")
    try:
        # Heartbeat and retry are experimental in Optuna 5; chosen on purpose, so not warned on
        # every run.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return HeartbeatTolerantRDBStorage(
                template,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry),
            )
    except Exception as error:
        raise StorageError(error_message("cannot open storage", url, error)) from None


def _open_journal(target: StorageUrl, url: str) -> optuna.storages.JournalStorage:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    assert target.path is not None
    try:
        return JournalStorage(JournalFileBackend(str(target.path)))
    except Exception as error:
        raise StorageError(error_message("cannot open storage", url, error)) from None


def connect_args(connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> dict[str, Any]:
    """psycopg2 connection settings shared by every connection lung-hpo opens to PostgreSQL."""
    return {
        "connect_timeout": connect_timeout,
        "application_name": _APPLICATION_NAME,
        **_KEEPALIVES,
    }


def _make_parent(path: Path, url: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageError(error_message("cannot create the directory of", url, error)) from None
