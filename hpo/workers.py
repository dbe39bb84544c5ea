"""Worker processes that attach to a study: one in this process, or a pool of them.

A pool starts one child per GPU (each sees only its GPU through ``CUDA_VISIBLE_DEVICES``) or N
children on the CPU. The storage URL reaches the children through the environment, never the
command line, where ``ps`` would show its password.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from hpo.studies import open_study, run_trials
from storage import StorageError, mask_url
from storage.factory import DEFAULT_GRACE_PERIOD, DEFAULT_HEARTBEAT_INTERVAL

__all__ = ["Heartbeat", "run_worker", "run_worker_pool"]


@dataclass(frozen=True)
class Heartbeat:
    """How often a running trial proves it is alive, and how long silence is tolerated."""

    interval: int = DEFAULT_HEARTBEAT_INTERVAL  # seconds between heartbeats
    grace_period: int = DEFAULT_GRACE_PERIOD  # seconds of silence before the trial is failed and re-queued

    def environment(self) -> dict[str, str]:
        return {"HPO_HEARTBEAT_INTERVAL": str(self.interval), "HPO_GRACE_PERIOD": str(self.grace_period)}


def run_worker(
    name: str,
    storage_url: str,
    artifact_dir: Path,
    timeout: float | None,
    console: Console,
    heartbeat: Heartbeat = Heartbeat(),
) -> int:
    """Runs trials of study ``name`` in this process until its budget is filled; returns how many.

    The sampler's seed mixes in the process id, so concurrent workers explore different points.
    """
    import optuna
    import sqlalchemy

    options = {"heartbeat_interval": heartbeat.interval, "grace_period": heartbeat.grace_period}
    probe = open_study(storage_url, name, **options)
    handle = open_study(storage_url, name, sampler_seed=probe.spec.seed * 100_003 + os.getpid(), **options)

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = "" if trial.value is None else f" DICE {trial.value:.4f}"
        console.print(
            f"[{os.getpid()}] trial #{trial.number} {trial.state.name.lower()}{value}",
            highlight=False,
        )

    try:
        return run_trials(handle, artifact_dir=artifact_dir, timeout=timeout, trial_callbacks=[report])
    except (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError) as error:
        # The database went away between trials (a restart, a network cut). Nothing is lost: a
        # trial it interrupted is failed by the heartbeat and re-queued for the next worker.
        reason = " ".join(str(error.__cause__ or error).split("(Background on")[0].split())[:300]
        raise StorageError(
            f"lost the connection to {mask_url(storage_url)} ({reason}); run `hpo worker {name}` again to continue"
        ) from None


def run_worker_pool(
    name: str,
    storage_url: str,
    artifact_dir: Path,
    devices: Sequence[str | None],
    timeout: float | None,
    console: Console,
    heartbeat: Heartbeat = Heartbeat(),
) -> int:
    """Starts one ``hpo worker`` child per entry of ``devices`` and waits for them all.

    Args:
        devices: a GPU id per child, or ``None`` for a CPU-only child.

    Returns:
        0 if every child succeeded, else the first non-zero exit code.
    """
    children = []
    for device in devices:
        env = dict(
            os.environ,
            HPO_STORAGE=storage_url,
            CUDA_VISIBLE_DEVICES=device if device is not None else "",
        )
        command = [sys.executable, "-m", "hpo", "worker", name, "--artifacts", str(artifact_dir)]
        if timeout is not None:
            command += ["--timeout", str(timeout)]
        children.append(subprocess.Popen(command, env=env))
    console.print(f"Started {len(children)} worker processes: {', '.join(str(c.pid) for c in children)}")
    try:
        codes = [child.wait() for child in children]
    except KeyboardInterrupt:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        codes = [child.wait() for child in children]
    return next((code for code in codes if code != 0), 0)
