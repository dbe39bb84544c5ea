"""A worker: one process that attaches to a study and runs its trials until the budget is filled.

TensorFlow keeps about 50 MB of every `model.fit` after the model is gone, whatever
`clear_session` and the garbage collector do (keras-team/keras#21090; `bench.memory` measures
it). A worker therefore trains at most ``recycle_after`` trials in one process: then exits with
`RECYCLE_EXIT_CODE`, and `hpo.study.supervisor` (which never imports Keras) starts a fresh one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from hpo.study.budget import TrialCounts
from hpo.study.finalize import finalize_when_over
from hpo.study.gpus import EXPECT_GPU_VARIABLE, READY_FILE_VARIABLE
from hpo.study.hints import worker_command
from hpo.study.run import StudyHandle, TrialInterrupted, open_study, run_trials, study_over
from storage import StorageError, mask_url
from storage.factory import DEFAULT_GRACE_PERIOD, DEFAULT_HEARTBEAT_INTERVAL
from storage.urls import sanitise

__all__ = [
    "INTERRUPT_GRACE_S",
    "DEVICE_EXIT_CODE",
    "RECYCLE_EXIT_CODE",
    "Heartbeat",
    "WorkerOutcome",
    "WorkerStopped",
    "run_worker",
    "signals_interrupt",
]

RECYCLE_EXIT_CODE = 75  # a child stopped at its trial limit and the study wants more (EX_TEMPFAIL)
DEVICE_EXIT_CODE = 69  # a GPU child whose backend does not see its GPU (EX_UNAVAILABLE); not restarted
INTERRUPT_GRACE_S = 30.0  # after Ctrl-C, seconds to fail and re-queue the trial before a hard exit


@dataclass(frozen=True)
class Heartbeat:
    """How often a running trial proves it is alive, and how long silence is tolerated."""

    interval: int = DEFAULT_HEARTBEAT_INTERVAL  # seconds between heartbeats
    grace_period: int = DEFAULT_GRACE_PERIOD  # seconds of silence before the trial is failed and re-queued

    def __post_init__(self) -> None:
        if self.interval < 1:
            raise ValueError(f"the heartbeat interval must be at least 1 s but got {self.interval!r}")
        if self.grace_period <= self.interval:
            raise ValueError(
                f"the grace period must be longer than the heartbeat interval ({self.interval} s) "
                f"but got {self.grace_period!r}"
            )

    def environment(self) -> dict[str, str]:
        return {"HPO_HEARTBEAT_INTERVAL": str(self.interval), "HPO_GRACE_PERIOD": str(self.grace_period)}


@dataclass(frozen=True)
class WorkerOutcome:
    trained: int  # trials this process trained
    recycle: bool  # stopped at its trial limit while the study still needs trials


class WorkerStopped(Exception):
    """A worker that stopped early and said why in one line; ``exit_code`` is what the process returns."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def exit_now(self) -> NoReturn:
        """Ends the process with ``exit_code``, skipping the interpreter's shutdown.

        The trial is already re-queued in the database and the message printed. TensorFlow's
        shutdown after an interrupted step has been seen to hang for minutes, and the watchdog of
        `signals_interrupt` cannot fire then (the interpreter stops its threads first).
        """
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(self.exit_code)


def run_worker(
    name: str,
    storage_url: str,
    artifact_dir: Path,
    timeout: float | None,
    console: Console,
    heartbeat: Heartbeat = Heartbeat(),
    max_trials: int | None = None,
    max_wait: float | None = None,
    results: Console | None = None,
) -> WorkerOutcome:
    """Runs trials of study ``name`` in this process until finished trials fill its budget.

    The sampler's seed mixes in the process id, so concurrent workers explore different points.
    Ctrl-C and SIGTERM fail the running trial, queue its parameters again and raise `WorkerStopped`.

    Args:
        console: progress, one line per trial (stderr in the CLI).
        results: the study's final score when this worker computes it (stdout); ``console``
            when not given.
        max_trials: train at most this many here; the outcome says whether to start afresh.
        max_wait: see `hpo.study.run.run_trials`.
    """
    import optuna
    import sqlalchemy

    _check_gpu()
    options = {"heartbeat_interval": heartbeat.interval, "grace_period": heartbeat.grace_period}
    handle = open_study(storage_url, name, worker_seed=os.getpid(), **options)
    # Each trial gets one line from `report`; Optuna's own log would repeat it, and print an
    # interrupted trial's traceback.
    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = "" if trial.value is None else f" DICE {trial.value:.4f}"
        failure = trial.user_attrs.get("failure")
        reason = f": {failure}" if failure and trial.state == optuna.trial.TrialState.FAIL else ""
        console.print(f"[{os.getpid()}] trial #{trial.number} {trial.state.name.lower()}{value}{reason}")

    def waiting(counts: TrialCounts) -> None:
        console.print(
            f"[{os.getpid()}] waiting: {counts.finished} of {counts.budget} trials finished and {counts.running} "
            f"running in other workers; a trial whose worker died is re-run here within {heartbeat.grace_period} s"
        )

    def taken_over(number: int) -> None:
        console.print(
            f"[{os.getpid()}] trial #{number} was failed by another worker while it trained here: this process "
            f"stalled or lost the database for more than {heartbeat.grace_period} s, so its heartbeat went stale "
            "and its parameters were queued again; its result here is dropped"
        )

    started = time.monotonic()
    try:
        with signals_interrupt(INTERRUPT_GRACE_S) as received:
            trained = run_trials(
                handle,
                artifact_dir=artifact_dir,
                timeout=timeout,
                trial_callbacks=[report],
                max_trials=max_trials,
                max_wait=max_wait,
                on_wait=waiting,
                on_taken_over=taken_over,
            )
            _finalize_when_over(handle, console, results or console)
    except TrialInterrupted as interrupt:
        signum = received[0] if received else signal.SIGINT
        what = (
            "no trial was running"
            if interrupt.number is None
            else (f"trial #{interrupt.number} failed and its parameters are queued again")
        )
        raise WorkerStopped(
            f"stopped by {signal.Signals(signum).name}: {what}; run {worker_command(name, storage_url)} to continue",
            128 + signum,
        ) from None
    except KeyboardInterrupt:  # only the final score was being computed: no trial is lost
        signum = received[0] if received else signal.SIGINT
        raise WorkerStopped(
            f"stopped by {signal.Signals(signum).name} while computing the final score; "
            f"run {worker_command(name, storage_url)} to compute it",
            128 + signum,
        ) from None
    except Exception as error:
        # The database went away (a restart, a network cut). Nothing is lost: a trial it
        # interrupted is failed by the heartbeat and re-queued for the next worker. Optuna may
        # surface it as another error raised while handling the database one, so walk the chain.
        storage_error = _storage_cause(error, (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError))
        if storage_error is None:
            raise
        reason = " ".join(str(storage_error.__cause__ or storage_error).split("(Background on")[0].split())[:300]
        raise StorageError(
            f"lost the connection to {mask_url(storage_url)} ({sanitise(reason, storage_url)}); "
            f"run {worker_command(name, storage_url)} to continue"
        ) from None
    out_of_time = timeout is not None and time.monotonic() - started >= timeout
    at_limit = max_trials is not None and trained >= max_trials
    return WorkerOutcome(trained, recycle=at_limit and not out_of_time and not study_over(handle))


def _check_gpu() -> None:
    """In a child started for a GPU: stop in one line unless the backend sees exactly that GPU.

    Without the check, a CPU-only backend on a GPU machine trains on the CPU without a word.
    """
    gpu = os.environ.get(EXPECT_GPU_VARIABLE)
    if not gpu:
        return
    from objectives.device import DeviceError, require_one_gpu

    try:
        require_one_gpu(gpu)
    except DeviceError as error:
        raise WorkerStopped(f"[{os.getpid()}] {error}", DEVICE_EXIT_CODE) from None
    ready = os.environ.get(READY_FILE_VARIABLE)
    if ready:  # this GPU's other workers may start now
        with contextlib.suppress(OSError):  # a supervisor gone with its folder has nobody to tell
            Path(ready).touch()


def _finalize_when_over(handle: StudyHandle, console: Console, results: Console) -> None:
    """Once the study is over, computes its final score here unless another worker does (see `finalize_when_over`)."""

    def starting(trial: int, seeds: int) -> None:
        console.print(
            f"[{os.getpid()}] the study is over: retraining trial #{trial}'s configuration with {seeds} fresh "
            "seed(s) for the final score on the locked test set"
        )

    def seed_done(seed: int, dice: float) -> None:
        console.print(f"[{os.getpid()}] final score: seed {seed} test DICE {dice:.4f}")

    score = finalize_when_over(handle, on_start=starting, on_seed=seed_done)
    if score is not None:
        results.print(f"Final score of study {handle.study.study_name!r}: {score.summary()}")


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
def signals_interrupt(grace_s: float) -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, and end the process ``grace_s`` later regardless.

    SIGTERM is what schedulers and ``docker stop`` send; it is treated as Ctrl-C. The interrupt
    fails and re-queues the running trial on its way out. Interrupting TensorFlow in the middle of
    a training step has been seen to hang the process instead; the watchdog ends it then, and the
    heartbeat re-queues the trial that never got marked. Yields the signals received.
    """
    received: list[int] = []

    def interrupted(signum: int, frame: object) -> None:
        if not received:
            watchdog = threading.Timer(grace_s, lambda: os._exit(128 + signum))
            watchdog.daemon = True
            watchdog.start()
        received.append(signum)
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {signum: signal.signal(signum, interrupted) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
