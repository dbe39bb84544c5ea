"""`bench.gpu` as a smoke test on the CPU: every part runs and writes its two tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.gpu import plan_parts
from tests.bench_tests.running import run_bench


@pytest.mark.slow
@pytest.mark.timeout(1200)  # about a minute on 2 idle cores; a budget wide enough that load skips no part
def test_bench_gpu_runs_on_the_cpu(tmp_path: Path) -> None:
    run_bench("bench.gpu", ["--backends", "tensorflow", "--image-size", "32", "--batch-size", "4", "--steps", "2",
                            "--epochs", "2", "--processes", "2", "--trials", "1", "--trial-steps", "2",
                            "--budget-s", "1000"], tmp_path, timeout=1100)  # fmt: skip
    throughput = json.loads((tmp_path / "gpu.json").read_text())
    assert throughput["machine"]["device"] == "cpu"
    pipelines = {(row["pipeline"].split(",")[0], row["precision"]) for row in throughput["rows"]}
    assert pipelines == {("bare fit", "float32"), ("lung-hpo pipeline", "float32")}  # no bf16 on a CPU
    for row in throughput["rows"]:
        assert row["backend"] == "tensorflow" and row["train images/s"] > 0
        assert row["GPU busy %"] == "—"  # no nvidia-smi here
    packing = json.loads((tmp_path / "gpu_packing.json").read_text())
    (row,) = packing["rows"]
    assert row["processes on the GPU"] == 2 and row["trials per hour"] > 0
    assert "Not run" not in " ".join(throughput["notes"])


def test_the_plan_runs_throughput_first_and_packs_only_the_chosen_installed_backends() -> None:
    def installed(package: str) -> bool:
        return package != "tensorflow"

    assert plan_parts("tensorflow,jax,torch", "jax", "1,4", installed) == [
        ("throughput", "jax", 1), ("throughput", "torch", 1), ("packing", "jax", 1), ("packing", "jax", 4),
    ]  # fmt: skip
    assert plan_parts("jax, torch", None, "2", installed) == [
        ("throughput", "jax", 1), ("throughput", "torch", 1), ("packing", "jax", 2), ("packing", "torch", 2),
    ]  # fmt: skip
    assert plan_parts("tensorflow", "tensorflow", "1", installed) == []
