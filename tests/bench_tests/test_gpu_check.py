"""`bench/gpu_check.sh`, the GPU acceptance run: on a machine without a GPU it must say FAIL, not pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench_tests.running import ROOT


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has NVIDIA GPUs")
def test_the_gpu_check_fails_clearly_without_a_gpu(tmp_path: Path) -> None:
    out = tmp_path / "out"
    environment = {**os.environ, "PYTHON": sys.executable}
    # 60 s in all: the worker check runs (and stops at once), no time is left for bench.gpu.
    completed = subprocess.run(["bash", "bench/gpu_check.sh", str(out), "60"], cwd=ROOT, env=environment,
                               capture_output=True, text=True, timeout=300)  # fmt: skip
    assert completed.returncode == 1, completed.stderr
    assert "error: --gpus all: nvidia-smi is not on PATH" in (out / "worker.log").read_text()
    verdict = (out / "worker-check.txt").read_text().splitlines()
    assert verdict[0] == "worker exit status 1; 0 of 0 trials finished"
    assert verdict[-1] == (
        "FAIL: nvidia-smi lists no GPU; the worker exited with 1; 0 of the budget's 12 trials finished"
    )
    assert "no time left for bench.gpu" in completed.stderr
    assert "Traceback" not in completed.stderr + (out / "worker.log").read_text()
