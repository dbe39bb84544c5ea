"""Run a benchmark the way its README says, as a child process writing its results into a test folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def run_bench(module: str, arguments: list[str], folder: Path, *, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGUMENTS`` from the repository root; fails the test unless it exits with 0.

    Its results (``HPO_BENCH_RESULTS``) and data cache (``HPO_CACHE_DIR``) go under ``folder``.
    ``timeout`` must stay below the test's own pytest timeout (``timeout`` in pyproject.toml unless
    the test is marked), so that a run that overruns fails here, with its output, instead of
    being cut off by pytest-timeout.
    """
    environment = {**os.environ, "HPO_BENCH_RESULTS": str(folder), "HPO_CACHE_DIR": str(folder / "cache")}
    completed = subprocess.run([sys.executable, "-m", module, *arguments], cwd=ROOT, env=environment,
                               capture_output=True, text=True, timeout=timeout)  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed
