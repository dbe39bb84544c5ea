"""One machine's worker processes: a supervisor starts one child per GPU (or per CPU process).

A child runs `hpo.study.workers.run_worker` (each sees only its GPU through
``CUDA_VISIBLE_DEVICES``) and is replaced when it stops to release memory
(after ``--recycle-after`` trials) or when a signal kills it; Ctrl-C and SIGTERM reach every
child once. Children die with their supervisor, so none trains on as an orphan. The storage URL
reaches them through the environment, never the command line, where ``ps`` would show its password.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from hpo.study.finalize import final_score_due
from hpo.study.gpus import (
    DEFAULT_TRIALS_PER_GPU,
    READY_FILE_VARIABLE,
    gpu_backend,
    gpu_environment,
    process_layout,
)
from hpo.study.hints import worker_command
from hpo.study.run import open_study, study_over
from hpo.study.workers import (
    INTERRUPT_GRACE_S,
    RECYCLE_EXIT_CODE,
    Heartbeat,
    WorkerStopped,
    run_worker,
    signals_interrupt,
)
from objectives.data.cache import default_cache_dir
from objectives.objective import WORKER_GROUP_VARIABLE

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial, TrialState

__all__ = ["WorkerOptions", "start_workers", "supervise_workers"]


@dataclass(frozen=True)
class WorkerOptions:
    """How ``hpo worker`` runs: where, how many, for how long."""

    timeout: float | None = None  # seconds after which no trial is started
    processes: int = 1  # CPU worker processes
    gpus: tuple[str, ...] = ()  # GPU ids: `trials_per_gpu` worker processes on each, instead of `processes`
    trials_per_gpu: int = DEFAULT_TRIALS_PER_GPU  # worker processes (so trials at a time) per GPU
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    recycle_after: int = 10  # trials per process before a fresh one takes over; 0: never
    max_wait: float | None = None  # see `hpo.study.run.run_trials`
    in_process: bool = False  # run trials in this process (what the supervisor starts)


def start_workers(name: str, storage_url: str, artifact_dir: Path, options: WorkerOptions, console: Console,
                  error_console: Console) -> int:  # fmt: skip
    """Runs ``hpo worker``: trials in this process, or a supervisor over child processes.

    Returns:
        The process's exit code: 0 when the study's budget is filled.
    """
    single = options.recycle_after == 0 and options.processes == 1 and not options.gpus
    if options.in_process or single:
        try:
            outcome = run_worker(
                name, storage_url, artifact_dir, options.timeout, error_console, options.heartbeat,
                options.recycle_after or None, options.max_wait, results=console,
            )  # fmt: skip
        except WorkerStopped as stopped:
            error_console.print(str(stopped))
            stopped.exit_now()
        if not options.in_process:  # a supervised child: its supervisor sums up for all of them
            console.print(_finished_line(outcome.trained))
        return RECYCLE_EXIT_CODE if outcome.recycle else 0
    handle = open_study(storage_url, name)  # also fails fast on a bad URL or study name
    if study_over(handle) and not final_score_due(handle):
        console.print("Worker finished: 0 trial(s) run; the study is already over.")
        return 0
    devices: list[str | None] = (
        [*process_layout(options.gpus, options.trials_per_gpu)] if options.gpus else [None] * options.processes
    )
    group = uuid.uuid4().hex[:16]  # this supervisor's children, on their trials
    code = supervise_workers(
        name, storage_url, artifact_dir, devices, options.timeout, error_console, options.heartbeat,
        options.recycle_after, options.max_wait, group=group,
    )  # fmt: skip
    if code == 0:  # else the last line is the one that says why it stopped
        console.print(_finished_line(_trials_run_by(name, storage_url, group)))
    return code


def _finished_line(trained: int | None) -> str:
    """What ``hpo worker`` prints on stdout when it is done: the trials it ran to their end or pruning."""
    return "Worker finished." if trained is None else f"Worker finished: {trained} trial(s) run."


def _trials_run_by(name: str, storage_url: str, group: str) -> int | None:
    """How many trials the children of supervisor ``group`` ran to an end (as `run_trials` counts
    them: complete, pruned or failed); ``None`` if the storage cannot say."""
    from optuna.trial import TrialState

    trials = _group_trials(name, storage_url, group, (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
    return None if trials is None else len(trials)


def _group_trials(name: str, storage_url: str, group: str, states: tuple[TrialState, ...]) -> list[FrozenTrial] | None:
    """The trials in ``states`` that children of supervisor ``group`` started; ``None`` if the storage
    cannot say (it may be what failed: the caller's line goes out without what it would have read)."""
    from hpo.results.studies import read_study

    try:  # read only: needs no sampler, nor a readable spec
        trials = read_study(storage_url, name).get_trials(deepcopy=False, states=states)
    except Exception:
        return None
    return [trial for trial in trials if trial.user_attrs.get("worker_group") == group]


def _installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _die_with_parent(parent: int) -> Callable[[], None]:
    """In a child: ask Linux to SIGKILL it when its supervisor dies (no orphaned trainings)."""

    def arrange() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the supervisor died before the request took effect
            os._exit(1)

    return arrange


@dataclass
class _Slot:
    """One worker position of the supervisor: a device, the child filling it, and its crashes.

    A GPU's first slot leads it: its child creates ``ready_file`` once the backend sees the GPU,
    and the GPU's other slots (``waiting``) start only then, so a GPU the backend cannot use is
    reported by one process, not by every one of ``--trials-per-gpu``.
    """

    device: str | None
    child: subprocess.Popen[bytes] | None = None
    crashes: int = 0  # in a row: a child that stops normally resets it
    ready_file: Path | None = None  # set on a GPU's first slot
    leader: _Slot | None = None  # set on a GPU's other slots: the first slot of their GPU
    waiting: bool = False  # not started yet: its leader's child has not passed the device check

    @property
    def where(self) -> str:
        return "CPU" if self.device is None else f"GPU {self.device}"


def _lay_out(devices: Sequence[str | None], folder: Path) -> list[_Slot]:
    """A slot per entry of ``devices``; each GPU's first slot leads the GPU's others."""
    slots: list[_Slot] = []
    leaders: dict[str, _Slot] = {}
    for index, device in enumerate(devices):
        if device is None:
            slots.append(_Slot(device))
        elif device in leaders:
            slots.append(_Slot(device, leader=leaders[device], waiting=True))
        else:
            leaders[device] = _Slot(device, ready_file=folder / f"gpu-{index}.ready")
            slots.append(leaders[device])
    return slots


def _release_waiting(slots: Sequence[_Slot]) -> list[_Slot]:
    """The waiting slots whose leader's child has passed its device check: to start now.

    Those whose leader ended without passing it stop waiting and are never started: the leader
    said why, and their children would fail the same way.
    """
    released = []
    for slot in slots:
        if not slot.waiting or slot.leader is None or slot.leader.ready_file is None:
            continue
        if slot.leader.ready_file.exists():
            slot.waiting = False
            released.append(slot)
        elif slot.leader.child is None:
            slot.waiting = False
    return released


_MAX_CRASHES = 3  # a slot whose children die this many times in a row is not refilled


def supervise_workers(
    name: str,
    storage_url: str,
    artifact_dir: Path,
    devices: Sequence[str | None],
    timeout: float | None,
    console: Console,
    heartbeat: Heartbeat,
    recycle_after: int = 10,
    max_wait: float | None = None,
    *,
    group: str,
) -> int:
    """Runs one worker child per entry of ``devices``, replacing each that stops to recycle or dies.

    A child killed by a signal (the OOM killer, ``kill -9``) is reported on ``console`` with the
    trial it was running, and replaced: the replacement re-runs that trial once its heartbeat goes
    stale. Ctrl-C or SIGTERM reaches every child once; each re-queues its trial and says so.

    Args:
        devices: a GPU id per child, or ``None`` for a CPU-only child.
        recycle_after: trials per child process before a fresh one takes over.
        group: this supervisor's id, recorded on every child's trials (``worker_group``).

    Returns:
        0 if every child ended well, else the first non-zero exit code (128 + N after signal N).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    ready_folder = tempfile.TemporaryDirectory(prefix="lung-hpo-workers-")  # removed when supervision ends
    slots = _lay_out(devices, Path(ready_folder.name))
    codes: list[int] = []

    def start(slot: _Slot) -> None:
        env = dict(os.environ, HPO_STORAGE=storage_url, **heartbeat.environment())
        env[WORKER_GROUP_VARIABLE] = group
        if slot.device is None:
            env["CUDA_VISIBLE_DEVICES"] = ""
        else:
            backend = gpu_backend(os.environ.get("KERAS_BACKEND"), _installed)
            env.update(gpu_environment(slot.device, backend, default_cache_dir()))
            if slot.ready_file is not None:
                env[READY_FILE_VARIABLE] = str(slot.ready_file)
        command = [sys.executable, "-m", "hpo", "worker", name, "--artifacts", str(artifact_dir),
                   "--in-process", "--recycle-after", str(recycle_after)]  # fmt: skip
        if deadline is not None:
            command += ["--timeout", f"{max(1.0, deadline - time.monotonic()):.0f}"]
        if max_wait is not None:
            command += ["--max-wait", f"{max_wait:g}"]
        # Its own session: a terminal's Ctrl-C reaches the supervisor alone, which forwards it once.
        slot.child = subprocess.Popen(
            command, env=env, preexec_fn=_die_with_parent(os.getpid()), start_new_session=True
        )

    def ended(slot: _Slot, code: int) -> None:
        assert slot.child is not None
        pid, slot.child = slot.child.pid, None
        in_time = deadline is None or time.monotonic() < deadline
        if code == RECYCLE_EXIT_CODE:
            slot.crashes = 0
            if in_time:
                start(slot)
            return
        if code >= 0:
            codes.append(code)
            return
        slot.crashes += 1
        console.print(_crash_report(name, storage_url, pid, group, slot, -code, heartbeat))
        if slot.crashes < _MAX_CRASHES and in_time:
            start(slot)
        else:
            console.print(
                f"{slot.where}: {slot.crashes} worker processes died in a row; not starting another. "
                f"Run {worker_command(name, storage_url)} to continue."
            )
            codes.append(1)

    for slot in slots:
        if not slot.waiting:
            start(slot)
    waiting = sum(slot.waiting for slot in slots)
    console.print(
        f"Started {len(slots) - waiting} worker process(es); each is replaced after {recycle_after} trials."
        + (f" {waiting} more start once the first process on their GPU sees it." if waiting else "")
    )
    with ready_folder, signals_interrupt(INTERRUPT_GRACE_S + 10) as received:
        try:
            while any(slot.child is not None or slot.waiting for slot in slots):
                for slot in _release_waiting(slots):
                    if deadline is None or time.monotonic() < deadline:
                        start(slot)
                for slot in slots:
                    code = slot.child.poll() if slot.child is not None else None
                    if code is not None:
                        ended(slot, code)
                time.sleep(0.2)
        except KeyboardInterrupt:
            signum = received[0] if received else signal.SIGINT
            _stop_children(slots, signum)
            return 128 + signum  # what the user asked for, however each child ended
    return next((code for code in codes if code != 0), 0)


def _stop_children(slots: Sequence[_Slot], signum: int) -> None:
    """Forwards Ctrl-C or SIGTERM to every child once; each re-queues its trial and prints one line."""
    for slot in slots:
        if slot.child is not None and slot.child.poll() is None:
            slot.child.send_signal(signum)
    for slot in slots:
        if slot.child is not None:
            try:
                slot.child.wait(timeout=INTERRUPT_GRACE_S + 5)
            except subprocess.TimeoutExpired:  # the heartbeat re-queues its trial
                slot.child.kill()
                slot.child.wait()


def _crash_report(
    name: str, storage_url: str, pid: int, group: str, slot: _Slot, signum: int, heartbeat: Heartbeat
) -> str:
    """One line on a child that a signal killed: which, with what trial, what happens next."""
    try:
        how = f"killed by {signal.Signals(signum).name}"
    except ValueError:
        how = f"killed by signal {signum}"
    number = _running_trial_of(name, storage_url, pid, group)
    trial = "between trials" if number is None else f"while running trial #{number}"
    fate = (
        ""
        if number is None
        else (
            f"; the heartbeat fails that trial within {heartbeat.grace_period} s and it is run again "
            "with the same parameters"
        )
    )
    return f"worker process {pid} ({slot.where}) was {how} {trial}{fate}."


def _running_trial_of(name: str, storage_url: str, pid: int, group: str) -> int | None:
    """The number of the RUNNING trial that child ``pid`` of supervisor ``group`` on this host recorded, if any."""
    from optuna.trial import TrialState

    worker = f"{socket.gethostname()}:{pid}"
    trials = _group_trials(name, storage_url, group, (TrialState.RUNNING,)) or []
    return next((trial.number for trial in trials if trial.user_attrs.get("worker") == worker), None)
