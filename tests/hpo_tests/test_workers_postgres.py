"""Distributed studies on the real PostgreSQL server: workers in separate processes, as users run them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from hpo.cli import app
from tests.tiny import write_tiny_space

pytestmark = pytest.mark.postgres
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _create(url: str, tmp_path: Path, n_trials: int, steps: int = 2) -> None:
    space = write_tiny_space(tmp_path)
    space.write_text(space.read_text().replace("steps_per_epoch = 2", f"steps_per_epoch = {steps}"))
    result = CliRunner().invoke(
        app,
        ["study", "create", "shared", "--storage", url, "--data", "synthetic:12", "--space", str(space),
         "--n-trials", str(n_trials), "--val-fraction", "0.25", "--pruner", "none"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


class _Worker:
    """An `hpo worker` process whose output goes to a file (a pipe nobody reads could stall it)."""

    def __init__(self, url: str, tmp_path: Path, *extra: str) -> None:
        env = {**os.environ, "HPO_STORAGE": url, "HPO_HEARTBEAT_INTERVAL": "1", "HPO_GRACE_PERIOD": "3"}
        command = [sys.executable, "-m", "hpo", "worker", "shared", "--artifacts", str(tmp_path / "artifacts"), *extra]
        self.log = tmp_path / f"worker-{time.monotonic_ns()}.log"
        with self.log.open("w") as sink:
            self.process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()  # never leave a worker behind for the next test
            self.process.wait()
            raise
        return code, self.log.read_text()


def _study(url: str) -> optuna.Study:
    from storage import open_storage

    return optuna.load_study(study_name="shared", storage=open_storage(url))


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def test_concurrent_workers_fill_the_budget_exactly(postgres_url: str, tmp_path: Path) -> None:
    _create(postgres_url, tmp_path, n_trials=5)
    code, output = _Worker(postgres_url, tmp_path, "--processes", "3").finish()
    assert code == 0, output
    trials = _study(postgres_url).trials
    finished = [t for t in trials if t.state in FINISHED]
    assert len(finished) == 5
    assert len({t.number for t in trials}) == len(trials)
    # Anything beyond the budget was refused before training, never run.
    for trial in trials:
        if trial.state not in FINISHED:
            assert trial.user_attrs.get("surplus") is True, trial


def test_a_killed_worker_loses_no_trial(postgres_url: str, tmp_path: Path) -> None:
    _create(postgres_url, tmp_path, n_trials=2, steps=25)
    victim = _Worker(postgres_url, tmp_path)

    def training() -> bool:
        running = _study(postgres_url).get_trials(states=(TrialState.RUNNING,))
        return bool(running) and bool(running[0].intermediate_values)

    _wait_for(training, 180, "a trial to report its first epoch")
    killed = _study(postgres_url).get_trials(states=(TrialState.RUNNING,))[0]
    victim.process.send_signal(signal.SIGKILL)
    victim.finish(timeout=30)

    time.sleep(4)  # let the grace period pass, so the next worker finds the trial stale
    code, output = _Worker(postgres_url, tmp_path).finish()
    assert code == 0, output

    trials = {t.number: t for t in _study(postgres_url).trials}
    assert trials[killed.number].state == TrialState.FAIL
    retries = [
        t
        for t in trials.values()
        if optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed.number
    ]
    assert len(retries) == 1 and retries[0].state in FINISHED
    assert retries[0].params == killed.params
    assert sum(t.state in FINISHED for t in trials.values()) == 2


@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None or os.geteuid() != 0, reason="needs pg_ctlcluster as root")
def test_a_database_restart_loses_no_trial(postgres_url: str, tmp_path: Path) -> None:
    _create(postgres_url, tmp_path, n_trials=4, steps=10)
    worker = _Worker(postgres_url, tmp_path)
    _wait_for(lambda: any(t.state in FINISHED for t in _study(postgres_url).trials), 180, "a finished trial")
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    try:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=120
        )
    finally:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], timeout=120)
    code, output = worker.finish()
    if code != 0:  # exiting is allowed, with a one-line reason and no traceback
        assert output.strip().splitlines()[-1].startswith("error: lost the connection"), output
        assert "Traceback" not in output
    code, output = _Worker(postgres_url, tmp_path).finish()
    assert code == 0, output
    trials = _study(postgres_url).trials
    assert sum(t.state in FINISHED for t in trials) == 4
    assert len({t.number for t in trials}) == len(trials)


def test_unreachable_server_fails_fast_with_one_line(tmp_path: Path) -> None:
    started = time.monotonic()
    result = CliRunner().invoke(app, ["worker", "x", "--storage", "postgresql://hpo:s3cret@127.0.0.1:1/hpo"])
    assert time.monotonic() - started < 15
    assert result.exit_code == 1
    assert "s3cret" not in result.output
    assert len(result.output.strip().splitlines()) <= 2
