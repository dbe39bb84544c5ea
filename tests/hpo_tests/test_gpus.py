"""GPU workers without a GPU: the process layout, each child's environment, and the check that stops it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import optuna
import pytest

from hpo.study.gpus import (
    DEFAULT_TRIALS_PER_GPU,
    EXPECT_GPU_VARIABLE,
    detect_gpus,
    gpu_backend,
    gpu_environment,
    process_layout,
)
from hpo.study.supervisor import _lay_out, _release_waiting
from hpo.study.workers import DEVICE_EXIT_CODE
from objectives.train import resolve_precision


def test_trials_per_gpu_lays_out_processes_gpu_by_gpu() -> None:
    assert process_layout(["0", "1"], 2) == ["0", "0", "1", "1"]
    assert process_layout(["3"], 1) == ["3"]
    assert DEFAULT_TRIALS_PER_GPU >= 1
    with pytest.raises(ValueError, match="at least 1"):
        process_layout(["0"], 0)
    with pytest.raises(ValueError, match="names a GPU twice"):
        process_layout(["0", "0"], 1)


@pytest.mark.parametrize(
    ("backend", "memory"),
    [
        ("tensorflow", {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}),
        ("jax", {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}),
        ("torch", {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}),
    ],
)
def test_each_child_sees_one_gpu_and_takes_only_the_memory_it_needs(
    backend: str, memory: dict[str, str], tmp_path: Path
) -> None:
    environment = gpu_environment("2", backend, tmp_path)
    assert environment["CUDA_VISIBLE_DEVICES"] == "2"
    assert environment[EXPECT_GPU_VARIABLE] == "2"
    assert environment["KERAS_BACKEND"] == backend
    assert memory.items() <= environment.items()
    other = {key for settings in ("TF_FORCE", "XLA_PYTHON", "PYTORCH_CUDA") for key in environment if settings in key}
    assert other == set(memory)  # one backend's settings only
    assert ("JAX_COMPILATION_CACHE_DIR" in environment) == (backend == "jax")
    with pytest.raises(ValueError, match="Keras backend must be one of"):
        gpu_environment("0", "mxnet")


def test_a_gpu_worker_uses_jax_unless_a_backend_is_set() -> None:
    assert gpu_backend("torch", lambda package: True) == "torch"
    assert gpu_backend(None, lambda package: package == "jax") == "jax"
    assert gpu_backend(None, lambda package: False) == "tensorflow"


def test_auto_precision_is_bf16_only_on_a_gpu_that_has_it() -> None:
    assert resolve_precision("auto", None) == "float32"  # a CPU
    assert resolve_precision("auto", (7, 5)) == "float32"  # a T4: no bf16
    assert resolve_precision("auto", (9, 0)) == "mixed_bfloat16"  # an H100 or H200
    assert resolve_precision("float32", (9, 0)) == "float32"


def test_gpus_all_lists_the_machines_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ValueError, match="nvidia-smi is not on PATH"):
        detect_gpus()
    # A stand-in for the driver's tool, printing what `nvidia-smi --query-gpu=index` prints on two GPUs.
    tool = tmp_path / "nvidia-smi"
    tool.write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")
    tool.chmod(0o755)
    assert detect_gpus() == ["0", "1"]
    tool.write_text(
        "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the driver' >&2\nexit 9\n"
    )
    with pytest.raises(ValueError, match="lists no GPU .*could not communicate with the driver"):
        detect_gpus()


def test_a_gpu_worker_whose_backend_sees_no_gpu_stops_in_one_line_and_loses_nothing(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    environment = {**os.environ, "HPO_CACHE_DIR": str(tmp_path / "cache"), "KERAS_BACKEND": "tensorflow"}
    hpo = [sys.executable, "-m", "hpo"]
    created = subprocess.run(
        [*hpo, "study", "create", "gpu", "--preset", "demo", "--n-trials", "2", "--storage", storage],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    worker = subprocess.run(
        [*hpo, "worker", "gpu", "--storage", storage, "--gpus", "0,1", "--trials-per-gpu", "2",
         "--artifacts", str(tmp_path / "artifacts")],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert worker.returncode == DEVICE_EXIT_CODE, worker.stderr
    lines = [line for line in worker.stderr.splitlines() if "backend sees" in line]
    # Each GPU's first process checked its GPU and said why it stopped, in one line; the GPU's
    # second process waited for that check and was never started.
    assert sorted(line.split("] ", 1)[1].split(":")[0] for line in lines) == ["GPU 0", "GPU 1"]
    assert "Started 2 worker process(es)" in worker.stderr and "2 more start once" in worker.stderr
    for line in lines:
        assert "the Keras tensorflow backend sees no GPU, only the CPU" in line
        assert "pip install 'lung-hpo[gpu]'" in line
    assert "Traceback" not in worker.stderr
    assert worker.stdout == ""  # no "Worker finished" after the reason: that stays the last line
    trials = optuna.load_study(study_name="gpu", storage=storage).get_trials()
    assert trials == []  # no trial was started, so none is lost or left running


def test_a_gpus_other_workers_start_once_its_first_has_passed_the_device_check(tmp_path: Path) -> None:
    slots = _lay_out(["0", "0", "1", "1", None], tmp_path)
    first_0, second_0, first_1, second_1, cpu = slots
    assert (first_0.waiting, second_0.waiting, first_1.waiting, second_1.waiting, cpu.waiting) == (
        False, True, False, True, False
    )  # fmt: skip
    assert second_0.leader is first_0 and second_1.leader is first_1 and cpu.leader is None
    assert first_0.ready_file is not None and first_1.ready_file is not None
    assert first_0.ready_file != first_1.ready_file and cpu.ready_file is None

    # Both leaders' children running (the loop only asks whether there is one), neither checked yet.
    first_0.child = first_1.child = cast("subprocess.Popen[bytes]", object())
    assert _release_waiting(slots) == []
    first_0.ready_file.touch()  # GPU 0's first worker sees its GPU
    assert _release_waiting(slots) == [second_0]
    assert not second_0.waiting and second_1.waiting
    first_1.child = None  # GPU 1's first worker ended without seeing its GPU
    assert _release_waiting(slots) == []
    assert not second_1.waiting  # given up: its check would fail the same way
