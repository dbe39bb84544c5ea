"""`bench.budget` as a smoke test: a time-budgeted study from creation to its final score."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tiny import write_tiny_space

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_bench_budget_runs_a_study_to_its_final_score(tmp_path: Path) -> None:
    # A millisecond: the first trial always starts, its first epoch spends the budget, and the
    # final score follows.
    command = [sys.executable, "-m", "bench.budget", "--data", "synthetic:16", "--time-budget", "0.001",
               "--final-seeds", "1", "--space", str(write_tiny_space(tmp_path))]  # fmt: skip
    environment = {**os.environ, "HPO_BENCH_RESULTS": str(tmp_path), "HPO_CACHE_DIR": str(tmp_path / "cache")}
    completed = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=500)
    assert completed.returncode == 0, completed.stderr[-3000:]
    (row,) = json.loads((tmp_path / "budget.json").read_text())["rows"]
    assert (row["budget"], row["trials"], row["completed"], row["seeds"]) == ("0s", 1, 1, 1)
    assert row["stopped by a time limit"] == 1 and row["epochs"] == 1
    assert 0.0 <= row["test DICE (native)"] <= 1.0 and row["final score min"] > 0
