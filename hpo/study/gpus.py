"""The worker processes of a GPU machine: which GPU each gets, and how it takes that GPU's memory.

Pure, apart from `detect_gpus`: the supervisor (which never imports Keras) lays out its
children with `process_layout` and starts each with `gpu_environment`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from objectives.keras_setup import DEFAULT_BACKEND

__all__ = [
    "DEFAULT_TRIALS_PER_GPU",
    "EXPECT_GPU_VARIABLE",
    "READY_FILE_VARIABLE",
    "detect_gpus",
    "gpu_backend",
    "gpu_environment",
    "process_layout",
]

# Worker processes per GPU unless told otherwise. On an NVIDIA H200 (`bench.gpu`, 128 px, batch
# 32, jax) 3 processes trained 2.3 times the trials per hour of 1 (1,955 against 845), each
# taking about 1.7 GB of GPU memory; 4 were not measured. A card with little memory, or 256 px
# images (about 4 times the memory), may need fewer: --trials-per-gpu.
DEFAULT_TRIALS_PER_GPU = 3
# Set in a GPU child's environment: its worker checks at start that the backend sees this GPU.
EXPECT_GPU_VARIABLE = "HPO_EXPECT_GPU"
# Set in the environment of a GPU's first child: it creates this file once its check has passed,
# and the GPU's other children start then (one line, not one per child, when the check fails).
READY_FILE_VARIABLE = "HPO_GPU_READY_FILE"

# Each process takes only the memory it uses, so that several trials share one GPU:
# TensorFlow grows its pool on demand, JAX does not preallocate 75 % of the card, and torch's
# caching allocator maps memory in expandable segments (less fragmentation between trials).
MEMORY_SETTINGS: Mapping[str, Mapping[str, str]] = {
    "tensorflow": {"TF_FORCE_GPU_ALLOW_GROWTH": "true"},
    "jax": {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"},
    "torch": {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"},
}


def process_layout(gpus: Sequence[str], trials_per_gpu: int) -> list[str]:
    """The GPU id of each worker process: ``trials_per_gpu`` processes per GPU, GPU by GPU."""
    if trials_per_gpu < 1:
        raise ValueError(f"--trials-per-gpu must be at least 1 but got {trials_per_gpu}")
    if len(set(gpus)) != len(gpus):
        raise ValueError(f"--gpus names a GPU twice: {','.join(gpus)}")
    return [gpu for gpu in gpus for _ in range(trials_per_gpu)]


def gpu_backend(requested: str | None, installed: Callable[[str], bool]) -> str:
    """The Keras backend of a GPU worker: ``KERAS_BACKEND`` when set, else JAX where it is installed.

    The GPU extra (``lung-hpo[gpu]``) installs JAX with CUDA, the fastest backend `bench.gpu`
    measured; TensorFlow, the CPU default, is installed without CUDA.

    Args:
        requested: ``KERAS_BACKEND``, or ``None`` when unset.
        installed: whether a package can be imported (``importlib.util.find_spec`` in practice).
    """
    if requested:
        return requested
    return "jax" if installed("jax") else DEFAULT_BACKEND


def gpu_environment(gpu: str, backend: str, cache_dir: Path | None = None) -> dict[str, str]:
    """Environment variables for a worker process that trains on GPU ``gpu`` with ``backend``.

    Args:
        cache_dir: where JAX keeps compiled train steps between processes and trials (a trial
            whose shapes and augmentation ranges were seen before skips its compilation).
    """
    if backend not in MEMORY_SETTINGS:
        raise ValueError(f"Keras backend must be one of {tuple(MEMORY_SETTINGS)}, but got {backend!r}")
    environment = {
        "CUDA_VISIBLE_DEVICES": gpu,
        "KERAS_BACKEND": backend,
        EXPECT_GPU_VARIABLE: gpu,
        **MEMORY_SETTINGS[backend],
    }
    if backend == "jax" and cache_dir is not None:
        environment["JAX_COMPILATION_CACHE_DIR"] = str(cache_dir / "jax-compilation")
    return environment


def detect_gpus() -> list[str]:
    """The ids of this machine's NVIDIA GPUs, from ``nvidia-smi`` (what ``--gpus all`` means).

    Raises:
        ValueError: there is no ``nvidia-smi``, or it lists no GPU.
    """
    if shutil.which("nvidia-smi") is None:
        raise ValueError("--gpus all: nvidia-smi is not on PATH, so no NVIDIA GPU can be found on this machine")
    completed = subprocess.run(
        ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=30
    )
    ids = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or not ids:
        reason = (completed.stderr or completed.stdout).strip().splitlines()
        raise ValueError(f"--gpus all: nvidia-smi lists no GPU ({reason[0] if reason else 'no output'})")
    return ids
