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
from pathlib import Path

from rich.console import Console

from hpo.studies import open_study, run_trials

__all__ = ["run_worker", "run_worker_pool"]


def run_worker(name: str, storage_url: str, artifact_dir: Path, timeout: float | None, console: Console) -> int:
    """Runs trials of study ``name`` in this process until its budget is filled; returns how many.

    The sampler's seed mixes in the process id, so concurrent workers explore different points.
    """
    import optuna

    probe = open_study(storage_url, name)
    handle = open_study(storage_url, name, sampler_seed=probe.spec.seed * 100_003 + os.getpid())

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = "" if trial.value is None else f" DICE {trial.value:.4f}"
        console.print(
            f"[{os.getpid()}] trial #{trial.number} {trial.state.name.lower()}{value}",
            highlight=False,
        )

    return run_trials(handle, artifact_dir=artifact_dir, timeout=timeout, trial_callbacks=[report])


def run_worker_pool(
    name: str,
    storage_url: str,
    artifact_dir: Path,
    devices: Sequence[str | None],
    timeout: float | None,
    console: Console,
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
