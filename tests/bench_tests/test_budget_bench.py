"""`bench.budget` as a smoke test: a time-budgeted study from creation to its final score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench_tests.running import run_bench
from tests.tiny import write_tiny_space


@pytest.mark.slow
def test_bench_budget_runs_a_study_to_its_final_score(tmp_path: Path) -> None:
    # A millisecond: the first trial always starts, its first epoch spends the budget, and the
    # final score follows.
    run_bench("bench.budget", ["--data", "synthetic:16", "--time-budget", "0.001", "--final-seeds", "1",
                               "--space", str(write_tiny_space(tmp_path))], tmp_path, timeout=500)  # fmt: skip
    (row,) = json.loads((tmp_path / "budget.json").read_text())["rows"]
    assert (row["budget"], row["trials"], row["completed"], row["seeds"]) == ("0s", 1, 1, 1)
    assert row["stopped by a time limit"] == 1 and row["epochs"] == 1
    assert 0.0 <= row["test DICE (native)"] <= 1.0 and row["final score min"] > 0
