"""Several worker processes on one study in the real PostgreSQL server.

Workers are separate processes running ``worker.py`` (threads would share one pool and one
heartbeat, which is not what a cluster does). Each test gets its own scratch database.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from storage import StorageError, open_storage
from tests.postgres import connection_counter

pytestmark = pytest.mark.postgres

_ROOT = Path(__file__).resolve().parents[2]
_WORKER = Path(__file__).with_name("worker.py")
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
# Seconds a worker may take to start (imports on a busy two-core machine) or to finish.
_PATIENCE = 60


class _Worker:
    """One worker process, its output read by a thread so waiting on it can time out."""

    def __init__(self, args: list[str]) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.process = subprocess.Popen(
            [sys.executable, str(_WORKER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            self._queue.put(line.strip())

    def expect(self, prefix: str) -> str:
        """The next line starting with ``prefix``; fails with the worker's output otherwise."""
        deadline = time.monotonic() + _PATIENCE
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line
        pytest.fail(f"worker never printed {prefix!r}:\n{self.output()}")

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def finish(self) -> int:
        return self.process.wait(timeout=_PATIENCE)

    def output(self) -> str:
        return "".join(self.lines)

    def close(self) -> None:
        """Kills the worker if it still runs and closes its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join(timeout=5)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


_StartWorker = Callable[..., _Worker]


@pytest.fixture
def start_worker() -> Iterator[_StartWorker]:
    started: list[_Worker] = []

    def start(
        url: str,
        study: str,
        *,
        budget: int,
        sleep: float,
        heartbeat_interval: int = 1,
        grace_period: int = 60,  # where no worker dies, no live trial may be failed however loaded the machine
    ) -> _Worker:
        worker = _Worker(
            [
                f"--url={url}",
                f"--study={study}",
                f"--budget={budget}",
                f"--sleep={sleep}",
                f"--heartbeat-interval={heartbeat_interval}",
                f"--grace-period={grace_period}",
            ]
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


def _wait_for_heartbeat(url: str, number: int) -> None:
    """Returns once trial ``number`` of study "lung" has a heartbeat recorded; fails the test after ``_PATIENCE`` s."""
    storage = open_storage(url)
    assert isinstance(storage, optuna.storages.RDBStorage)
    (trial,) = [t for t in optuna.load_study(study_name="lung", storage=storage).trials if t.number == number]
    query = sqlalchemy.text("SELECT count(*) FROM trial_heartbeats WHERE trial_id = :id")
    deadline = time.monotonic() + _PATIENCE
    try:
        while time.monotonic() < deadline:
            with storage.engine.connect() as connection:
                if connection.execute(query, {"id": trial._trial_id}).scalar_one():
                    return
            time.sleep(0.05)
    finally:
        storage.engine.dispose()
    pytest.fail(f"trial {number} recorded no heartbeat in {_PATIENCE} s")


def _create_study(url: str) -> optuna.Study:
    return optuna.create_study(study_name="lung", storage=open_storage(url))


def _with(url: str, *, password: str, username: str | None = None, database: str | None = None) -> str:
    return (
        make_url(url).set(password=password, username=username, database=database).render_as_string(hide_password=False)
    )


def test_storage_is_pooled_pinged_and_never_shows_its_password(postgres_server: str, postgres_url: str) -> None:
    # Trust authentication ignores the password; its braces check Optuna's URL templating.
    url = _with(postgres_url, password="hunter{2}")
    storage = open_storage(url)
    assert isinstance(storage, optuna.storages.RDBStorage)
    # A bare postgresql:// means psycopg 3 to SQLAlchemy 2.1; the factory asks for psycopg2.
    assert storage.engine.dialect.driver == "psycopg2"
    pool = storage.engine.pool
    assert isinstance(pool, sqlalchemy.pool.QueuePool)
    assert pool.size() == 2
    assert pool._pre_ping
    for text in (str(storage), repr(storage), str(storage.engine), repr(storage.engine)):
        assert "hunter" not in text
    database = make_url(url).database
    assert database is not None
    with connection_counter(postgres_server, database) as count:
        assert 1 <= count() <= 4


@pytest.mark.parametrize(
    "wrong",
    [
        {"database": f"hpo_test_missing_{uuid.uuid4().hex[:8]}"},
        {"username": f"hpo_ghost_{uuid.uuid4().hex[:8]}"},
    ],
)
def test_wrong_database_or_role_fails_fast_on_one_masked_line(postgres_url: str, wrong: dict[str, str]) -> None:
    # The server trusts 127.0.0.1, so a wrong password cannot be refused here; a missing
    # database or role fails on the same path and carries a password to mask. Built on the
    # scratch database so that a mistake here cannot create tables in a shared one.
    url = _with(postgres_url, password="hunter2", **wrong)
    start = time.monotonic()
    with pytest.raises(StorageError, match="does not exist") as caught:
        open_storage(url)
    assert time.monotonic() - start < 5
    message = str(caught.value)
    assert "hunter2" not in message
    assert ":***@" in message
    assert "\n" not in message


def test_workers_share_one_study_and_stop_at_the_budget(postgres_url: str, start_worker: _StartWorker) -> None:
    study = _create_study(postgres_url)
    budget, count = 12, 3
    workers = [start_worker(postgres_url, "lung", budget=budget, sleep=0.05) for _ in range(count)]
    for worker in workers:
        worker.expect("ready")
    for worker in workers:
        worker.go()
    for worker in workers:
        assert worker.finish() == 0, worker.output()

    trials = study.get_trials()
    finished = [t for t in trials if t.state in _FINISHED]
    # MaxTrialsCallback counts after each trial, so a worker that began a trial before the
    # budget was met still finishes it: at most one extra trial per other worker.
    assert budget <= len(finished) <= budget + count - 1
    assert len(finished) == len(trials), [t.state for t in trials]
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    assert len({t.user_attrs["pid"] for t in finished}) >= 2


def test_killed_worker_trial_is_failed_by_heartbeat_and_rerun(postgres_url: str, start_worker: _StartWorker) -> None:
    study = _create_study(postgres_url)
    grace_period = 2
    victim = start_worker(postgres_url, "lung", budget=4, sleep=60, grace_period=grace_period)
    survivor = start_worker(postgres_url, "lung", budget=4, sleep=0.05, grace_period=grace_period)
    victim.expect("ready")
    victim.go()
    number = int(victim.expect("started").split()[1])
    # Optuna's thread records the first heartbeat beside the trial; killed before it, the trial
    # would be no stale trial (Optuna passes over a trial that never beat; see storage.heartbeats).
    _wait_for_heartbeat(postgres_url, number)
    victim.process.kill()
    victim.process.wait()
    killed_at = time.monotonic()
    survivor.expect("ready")
    # Stale trials are failed when a worker starts its next trial: start once the grace is over.
    time.sleep(max(0.0, killed_at + grace_period + 0.5 - time.monotonic()))
    survivor.go()
    assert survivor.finish() == 0, survivor.output()

    trials = study.get_trials()
    assert trials[number].state is TrialState.FAIL
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback
    reruns = [t for t in trials if retry.retried_trial_number(t) == number]
    assert [t.state for t in reruns] == [TrialState.COMPLETE]
    assert reruns[0].params == trials[number].params
    assert len([t for t in trials if t.state in _FINISHED]) >= 4
    assert not [t for t in trials if t.state is TrialState.RUNNING]


def test_worker_survives_its_connections_being_dropped(
    postgres_server: str, postgres_url: str, start_worker: _StartWorker
) -> None:
    study = _create_study(postgres_url)
    database = make_url(postgres_url).database
    # Each trial waits for the test (sleep -1), so the connections are dropped while no query is
    # under way; a long heartbeat interval: the only heartbeat of a trial is at its start.
    worker = start_worker(postgres_url, "lung", budget=3, sleep=-1, heartbeat_interval=30, grace_period=60)
    worker.expect("ready")
    worker.go()
    admin = sqlalchemy.create_engine(
        make_url(postgres_server).set(drivername="postgresql+psycopg2"),
        isolation_level="AUTOCOMMIT",
        poolclass=sqlalchemy.pool.NullPool,
    )
    terminate = sqlalchemy.text(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = :name AND pid <> pg_backend_pid()"
    )
    try:
        for trial in range(3):
            worker.expect("started")
            if trial < 2:
                _wait_for_heartbeat(postgres_url, trial)  # the heartbeat thread's query is over too
                with admin.connect() as connection:
                    dropped = connection.execute(terminate, {"name": database}).scalar_one()
                assert dropped >= 1
            worker.go()
    finally:
        admin.dispose()
    assert worker.finish() == 0, worker.output()

    trials = study.get_trials()  # the test's own pooled connections were dropped too
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
