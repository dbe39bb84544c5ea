"""Distributed studies on the real PostgreSQL server: workers in separate processes, as users run them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import optuna
import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from hpo.cli import app
from tests.tiny import write_tiny_space

# A test waits for a first epoch (FIRST_EPOCH_S) and then for workers (up to 600 s each): the
# project's 600 s per test would cut a slow run short and lose the workers' output.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(1500)]
T = TypeVar("T")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
# Seconds without a heartbeat before a trial counts as dead, where a test kills a worker and waits
# for its trial to be run again. Elsewhere workers keep the default (60 s): two loaded cores can
# starve a live trial's heartbeat for longer than a few seconds, and a live trial must not be failed.
SHORT_GRACE = 3
# Seconds for a worker to import TensorFlow and train a first epoch, many times over: the machine may be loaded.
FIRST_EPOCH_S = 400


def _create(url: str, tmp_path: Path, n_trials: int, steps: int = 2, epochs: int = 2) -> None:
    space = write_tiny_space(tmp_path)
    text = space.read_text().replace("steps_per_epoch = 2", f"steps_per_epoch = {steps}")
    space.write_text(text.replace("max_epochs = 2", f"max_epochs = {epochs}").replace("patience = 2", "patience = 50"))
    result = CliRunner().invoke(
        app,
        ["study", "create", "shared", "--storage", url, "--data", "synthetic:12", "--space", str(space),
         "--n-trials", str(n_trials), "--val-fraction", "0.25", "--pruner", "none", "--final-seeds", "0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


class _Worker:
    """An `hpo worker` process whose output goes to a file (a pipe nobody reads could stall it)."""

    def __init__(
        self, url: str, tmp_path: Path, *extra: str, default_sigint: bool = False, grace_period: int = 60
    ) -> None:
        env = {**os.environ, "HPO_STORAGE": url, "HPO_HEARTBEAT_INTERVAL": "1", "HPO_GRACE_PERIOD": str(grace_period)}
        command = [sys.executable, "-m", "hpo", "worker", "shared", "--artifacts", str(tmp_path / "artifacts"), *extra]
        self.log = tmp_path / f"worker-{time.monotonic_ns()}.log"
        with self.log.open("w") as sink:
            self.process = subprocess.Popen(
                command,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if default_sigint else None,
            )

    def finish(self, timeout: float = 600) -> tuple[int, str]:
        """Its exit code and output; a worker still running after ``timeout`` fails the test.

        The limit only bounds a hang: on a loaded 2-core machine a worker may take minutes.
        """
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()  # never leave a worker behind for the next test
            self.process.wait()
            pytest.fail(f"worker still running after {timeout} s; its output:\n{self.log.read_text()}")
        return code, self.log.read_text()


def _study(url: str) -> optuna.Study:
    from storage import open_storage

    return optuna.load_study(study_name="shared", storage=open_storage(url))


def _wait_for(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    """The condition's first true value: asking again could find that the moment has passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def _running_trial_with_an_epoch(url: str) -> optuna.trial.FrozenTrial | None:
    running = _study(url).get_trials(states=(TrialState.RUNNING,))
    return next((trial for trial in running if trial.intermediate_values), None)


def _first_epoch(url: str) -> optuna.trial.FrozenTrial:
    return _wait_for(lambda: _running_trial_with_an_epoch(url), FIRST_EPOCH_S, "a trial to report its first epoch")


def _pid_of(trial: optuna.trial.FrozenTrial) -> int:
    return int(trial.user_attrs["worker"].rpartition(":")[2])


def _frozen_mid_trial(url: str) -> tuple[optuna.trial.FrozenTrial, int]:
    """A trial that has reported an epoch, and its worker process, stopped (SIGSTOP) while the trial runs.

    A trial seen running can finish before a signal sent next reaches its process (CI saw it on a
    loaded machine: the "killed" trial had completed). A stopped process can finish nothing, so a
    signal sent to it after this returns lands mid-trial however slow the machine is.
    """

    def freeze() -> tuple[optuna.trial.FrozenTrial, int] | None:
        seen = _running_trial_with_an_epoch(url)
        if seen is None:
            return None
        pid = _pid_of(seen)
        os.kill(pid, signal.SIGSTOP)
        (now,) = [t for t in _study(url).get_trials(deepcopy=False) if t.number == seen.number]
        if now.state == TrialState.RUNNING:
            return seen, pid
        os.kill(pid, signal.SIGCONT)  # it finished in between: wait for the next one
        return None

    return _wait_for(freeze, FIRST_EPOCH_S, "a trial to report its first epoch")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (killed, not yet reaped by a parent that is itself gone) counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


def _assert_budget_filled_once(url: str, budget: int) -> list[optuna.trial.FrozenTrial]:
    trials = _study(url).trials
    assert sum(t.state in FINISHED for t in trials) == budget
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    return trials


def test_concurrent_workers_fill_the_budget_exactly(postgres_url: str, tmp_path: Path) -> None:
    _create(postgres_url, tmp_path, n_trials=5)
    code, output = _Worker(postgres_url, tmp_path, "--processes", "3").finish()
    assert code == 0, output
    trials = _study(postgres_url).trials
    # Workers take turns to count and start trials: none beyond the budget is ever created.
    assert len(trials) == 5 and all(t.state in FINISHED for t in trials)
    assert "Traceback" not in output and "failed" not in output


@pytest.mark.slow
def test_a_killed_worker_loses_no_trial(postgres_url: str, tmp_path: Path) -> None:
    _create(postgres_url, tmp_path, n_trials=2, steps=25, epochs=6)  # epochs left when the kill comes
    victim = _Worker(postgres_url, tmp_path, "--recycle-after", "0", grace_period=SHORT_GRACE)
    killed, pid = _frozen_mid_trial(postgres_url)
    assert pid == victim.process.pid
    victim.process.send_signal(signal.SIGKILL)
    victim.finish(timeout=30)

    # Started at once, while the dead trial's heartbeat is still fresh: it must wait, not leave.
    code, output = _Worker(postgres_url, tmp_path, grace_period=SHORT_GRACE).finish()
    assert code == 0, output
    trials = {t.number: t for t in _assert_budget_filled_once(postgres_url, 2)}
    assert trials[killed.number].state == TrialState.FAIL
    retries = [
        t
        for t in trials.values()
        if optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed.number
    ]
    assert len(retries) == 1 and retries[0].state in FINISHED
    assert retries[0].params == killed.params


@pytest.mark.slow
def test_the_supervisor_reports_and_replaces_a_killed_child(postgres_url: str, tmp_path: Path) -> None:
    _create(postgres_url, tmp_path, n_trials=2, steps=25, epochs=6)  # epochs left when the kill comes
    supervisor = _Worker(postgres_url, tmp_path, grace_period=SHORT_GRACE)
    killed, child = _frozen_mid_trial(postgres_url)
    assert child != supervisor.process.pid
    os.kill(child, signal.SIGKILL)

    code, output = supervisor.finish()
    assert code == 0, output
    assert f"worker process {child} (CPU) was killed by SIGKILL while running trial #{killed.number}" in output
    assert "run again with the same parameters" in output
    assert "Traceback" not in output
    trials = _assert_budget_filled_once(postgres_url, 2)
    assert any(
        optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed.number
        and t.state in FINISHED
        for t in trials
    )


@pytest.mark.slow
def test_a_stalled_worker_whose_trial_was_run_elsewhere_goes_on(postgres_url: str, tmp_path: Path) -> None:
    # A paused VM, a suspended laptop: the worker lives, but its heartbeat goes stale meanwhile.
    _create(postgres_url, tmp_path, n_trials=2, steps=25, epochs=6)
    stalled = _Worker(postgres_url, tmp_path, "--recycle-after", "0", grace_period=SHORT_GRACE)
    taken, pid = _frozen_mid_trial(postgres_url)
    try:
        code, output = _Worker(postgres_url, tmp_path, grace_period=SHORT_GRACE).finish()
        assert code == 0, output
    finally:
        os.kill(pid, signal.SIGCONT)
    # Woken, the stalled worker cannot report its trial's next epoch: it says why and goes on.
    code, output = stalled.finish()
    assert code == 0, output
    assert f"trial #{taken.number} was failed by another worker while it trained here" in output
    assert "Traceback" not in output
    trials = {t.number: t for t in _assert_budget_filled_once(postgres_url, 2)}
    assert trials[taken.number].state == TrialState.FAIL
    retried = optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number
    assert [t.state in FINISHED for t in trials.values() if retried(t) == taken.number] == [True]


@pytest.mark.slow
def test_a_killed_supervisor_leaves_no_orphan_and_loses_no_trial(postgres_url: str, tmp_path: Path) -> None:
    _create(postgres_url, tmp_path, n_trials=2, steps=25, epochs=6)
    supervisor = _Worker(postgres_url, tmp_path, grace_period=SHORT_GRACE)
    running = _first_epoch(postgres_url)
    supervisor.process.send_signal(signal.SIGKILL)
    supervisor.finish(timeout=30)
    _wait_for(lambda: _gone(_pid_of(running)), 30, "the orphaned child to die with its supervisor")

    code, output = _Worker(postgres_url, tmp_path, grace_period=SHORT_GRACE).finish()
    assert code == 0, output
    _assert_budget_filled_once(postgres_url, 2)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_requeue_and_exit_in_one_line(postgres_url: str, tmp_path: Path, signum: int) -> None:
    # 1000 epochs: however fast training is, the trial is still running when the signal comes.
    _create(postgres_url, tmp_path, n_trials=1, steps=20, epochs=1000)
    # As from a terminal or a scheduler: SIGINT at its default, whatever the test runner inherited.
    supervisor = _Worker(postgres_url, tmp_path, default_sigint=True)
    running = _first_epoch(postgres_url)
    supervisor.process.send_signal(signum)

    code, output = supervisor.finish(timeout=120)
    assert code == 128 + signum, output
    name = signal.Signals(signum).name
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[-1].startswith(
        f"stopped by {name}: trial #{running.number} failed and its parameters are queued again; "
        f"run `hpo worker shared --storage {postgres_url}` to continue"
    ), output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    trials = {t.number: t for t in _study(postgres_url).trials}
    assert trials[running.number].state == TrialState.FAIL
    (queued,) = [t for t in trials.values() if t.state == TrialState.WAITING]
    assert queued.user_attrs["retry_of"] == running.number


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None or os.geteuid() != 0, reason="needs pg_ctlcluster as root")
def test_a_database_restart_loses_no_trial(postgres_url: str, tmp_path: Path) -> None:
    _create(postgres_url, tmp_path, n_trials=4, steps=10)
    worker = _Worker(postgres_url, tmp_path, grace_period=SHORT_GRACE)
    _wait_for(lambda: any(t.state in FINISHED for t in _study(postgres_url).trials), FIRST_EPOCH_S, "a finished trial")
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    try:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=120
        )
    finally:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], timeout=120)
    # Each wait stays well inside the test's own time limit, so a hang shows the worker's output.
    code, output = worker.finish(timeout=240)
    if code != 0:  # exiting is allowed, with a one-line reason
        assert output.strip().splitlines()[-1].startswith("error: lost the connection"), output
    # Nor does a heartbeat that fell inside the restart print one (Optuna's heartbeat thread would).
    assert "Traceback" not in output
    code, output = _Worker(postgres_url, tmp_path, grace_period=SHORT_GRACE).finish(timeout=240)
    assert code == 0, output
    trials = _study(postgres_url).trials
    assert sum(t.state in FINISHED for t in trials) == 4
    assert len({t.number for t in trials}) == len(trials)


@pytest.mark.slow
def test_a_trial_left_without_any_heartbeat_is_run_again(postgres_url: str, tmp_path: Path) -> None:
    """A worker that loses the database (or dies) right after creating a trial leaves it RUNNING
    with no heartbeat, which Optuna's own check passes over: the next worker must not wait for it
    for ever (seen in CI after a database restart)."""
    _create(postgres_url, tmp_path, n_trials=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Optuna: heartbeats are meant for optimize()
        orphan = _study(postgres_url).ask()
    code, output = _Worker(postgres_url, tmp_path, grace_period=SHORT_GRACE).finish(timeout=240)
    assert code == 0, output
    trials = _study(postgres_url).trials
    assert trials[orphan.number].state == TrialState.FAIL
    assert "first heartbeat" in trials[orphan.number].user_attrs["failure"]
    assert sum(t.state in FINISHED for t in trials) == 2
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def test_unreachable_server_fails_fast_with_one_line(tmp_path: Path) -> None:
    started = time.monotonic()
    result = CliRunner().invoke(app, ["worker", "x", "--storage", "postgresql://hpo:s3cret@127.0.0.1:1/hpo"])
    assert time.monotonic() - started < 15
    assert result.exit_code == 1
    assert "s3cret" not in result.output
    assert len(result.output.strip().splitlines()) <= 2
