"""Worker processes that attach to a study, and the supervisor that keeps them fresh.

TensorFlow keeps about 50 MB of every `model.fit` after the model is gone, whatever
`clear_session` and the garbage collector do (keras-team/keras#21090; `bench.memory` measures
it). A worker therefore trains at most ``recycle_after`` trials in one process: a light
supervisor, which never imports Keras, runs the worker as a child process and starts a fresh one
whenever a child stops at that limit with the study still short of its budget.

The supervisor starts one child per GPU (each sees only its GPU through ``CUDA_VISIBLE_DEVICES``)
or N children on the CPU. The storage URL reaches the children through the environment, never
the command line, where ``ps`` would show its password. Children die with their supervisor, so a
killed worker leaves no orphan training behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from hpo.studies import budget_filled, open_study, run_trials
from storage import StorageError, mask_url
from storage.factory import DEFAULT_GRACE_PERIOD, DEFAULT_HEARTBEAT_INTERVAL

__all__ = ["RECYCLE_EXIT_CODE", "Heartbeat", "WorkerOutcome", "run_worker", "supervise_workers"]

RECYCLE_EXIT_CODE = 75  # a child stopped at its trial limit and the study wants more (EX_TEMPFAIL)
INTERRUPT_GRACE_S = 30.0  # after Ctrl-C, seconds to fail and re-queue the trial before a hard exit


@dataclass(frozen=True)
class Heartbeat:
    """How often a running trial proves it is alive, and how long silence is tolerated."""

    interval: int = DEFAULT_HEARTBEAT_INTERVAL  # seconds between heartbeats
    grace_period: int = DEFAULT_GRACE_PERIOD  # seconds of silence before the trial is failed and re-queued

    def environment(self) -> dict[str, str]:
        return {"HPO_HEARTBEAT_INTERVAL": str(self.interval), "HPO_GRACE_PERIOD": str(self.grace_period)}


@dataclass(frozen=True)
class WorkerOutcome:
    trained: int  # trials this process trained
    recycle: bool  # stopped at its trial limit while the study still needs trials


def run_worker(
    name: str,
    storage_url: str,
    artifact_dir: Path,
    timeout: float | None,
    console: Console,
    heartbeat: Heartbeat = Heartbeat(),
    max_trials: int | None = None,
) -> WorkerOutcome:
    """Runs trials of study ``name`` in this process until its budget is filled.

    The sampler's seed mixes in the process id, so concurrent workers explore different points.

    Args:
        max_trials: train at most this many here; the outcome says whether to start afresh.
    """
    import optuna
    import sqlalchemy

    options = {"heartbeat_interval": heartbeat.interval, "grace_period": heartbeat.grace_period}
    probe = open_study(storage_url, name, **options)
    handle = open_study(storage_url, name, sampler_seed=probe.spec.seed * 100_003 + os.getpid(), **options)

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = "" if trial.value is None else f" DICE {trial.value:.4f}"
        console.print(f"[{os.getpid()}] trial #{trial.number} {trial.state.name.lower()}{value}", highlight=False)

    started = time.monotonic()
    try:
        with _exit_after_interrupt(INTERRUPT_GRACE_S):
            trained = run_trials(
                handle, artifact_dir=artifact_dir, timeout=timeout, trial_callbacks=[report], max_trials=max_trials
            )
    except Exception as error:
        # The database went away (a restart, a network cut). Nothing is lost: a trial it
        # interrupted is failed by the heartbeat and re-queued for the next worker. Optuna may
        # surface it as another error raised while handling the database one, so walk the chain.
        storage_error = _storage_cause(error, (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError))
        if storage_error is None:
            raise
        reason = " ".join(str(storage_error.__cause__ or storage_error).split("(Background on")[0].split())[:300]
        raise StorageError(
            f"lost the connection to {mask_url(storage_url)} ({reason}); run `hpo worker {name}` again to continue"
        ) from None
    out_of_time = timeout is not None and time.monotonic() - started >= timeout
    at_limit = max_trials is not None and trained >= max_trials
    return WorkerOutcome(trained, recycle=at_limit and not out_of_time and not budget_filled(handle))


def _storage_cause(error: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of ``kinds`` in ``error``'s cause and context chain, if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


@contextmanager
def _exit_after_interrupt(grace_s: float) -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt as usual, and ends the process ``grace_s`` later regardless.

    The interrupt fails and re-queues the running trial on its way out. Interrupting TensorFlow in
    the middle of a training step has been seen to hang the process instead; the watchdog ends
    it then, and the heartbeat re-queues the trial that never got marked.
    """

    def interrupted(signum: int, frame: object) -> None:
        watchdog = threading.Timer(grace_s, lambda: os._exit(130))
        watchdog.daemon = True
        watchdog.start()
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _die_with_parent() -> None:
    """In a child: ask Linux to SIGKILL it when its supervisor dies (no orphaned trainings)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class _Slot:
    """One worker position of the supervisor: a device and the child currently filling it."""

    device: str | None
    child: subprocess.Popen[bytes] | None = None


def supervise_workers(
    name: str,
    storage_url: str,
    artifact_dir: Path,
    devices: Sequence[str | None],
    timeout: float | None,
    console: Console,
    heartbeat: Heartbeat = Heartbeat(),
    recycle_after: int = 10,
) -> int:
    """Runs one worker child per entry of ``devices``, replacing each that stops to recycle.

    Args:
        devices: a GPU id per child, or ``None`` for a CPU-only child.
        recycle_after: trials per child process before a fresh one takes over.

    Returns:
        0 if every child ended well, else the first non-zero exit code.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    slots = [_Slot(device) for device in devices]
    codes: list[int] = []

    def start(slot: _Slot) -> None:
        env = dict(os.environ, HPO_STORAGE=storage_url, **heartbeat.environment())
        env["CUDA_VISIBLE_DEVICES"] = slot.device if slot.device is not None else ""
        command = [sys.executable, "-m", "hpo", "worker", name, "--artifacts", str(artifact_dir),
                   "--in-process", "--recycle-after", str(recycle_after)]  # fmt: skip
        if deadline is not None:
            command += ["--timeout", f"{max(1.0, deadline - time.monotonic()):.0f}"]
        # Its own session: a terminal's Ctrl-C reaches the supervisor alone, which forwards it once.
        slot.child = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent, start_new_session=True)

    for slot in slots:
        start(slot)
    console.print(f"Started {len(slots)} worker process(es); each is replaced after {recycle_after} trials.")
    try:
        while any(slot.child is not None for slot in slots):
            for slot in slots:
                code = slot.child.poll() if slot.child is not None else None
                if code is None:
                    continue
                slot.child = None
                if code == RECYCLE_EXIT_CODE and (deadline is None or time.monotonic() < deadline):
                    start(slot)
                elif code != RECYCLE_EXIT_CODE:
                    codes.append(code)
            time.sleep(0.2)
    except KeyboardInterrupt:
        for slot in slots:
            if slot.child is not None and slot.child.poll() is None:
                slot.child.send_signal(signal.SIGINT)
        for slot in slots:
            if slot.child is not None:
                try:
                    codes.append(slot.child.wait(timeout=INTERRUPT_GRACE_S + 5))
                except subprocess.TimeoutExpired:  # the heartbeat re-queues its trial
                    slot.child.kill()
                    codes.append(slot.child.wait())
        codes.append(130)
    return next((code for code in codes if code != 0), 0)
