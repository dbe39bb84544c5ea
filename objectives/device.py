"""Which accelerator the configured Keras backend trains on, and the check a GPU worker runs at start.

Each backend is asked in its own terms (TensorFlow's physical devices, JAX's devices, torch's
CUDA devices), because that, not the machine, decides where training runs: ``pip install
lung-hpo`` on a GPU machine gets a CPU-only TensorFlow, which trains on the CPU without a word.
"""

from __future__ import annotations

import os

from objectives.keras_setup import import_keras

__all__ = [
    "GPU_INSTALL",
    "DeviceError",
    "accelerators",
    "compute_capability",
    "require_one_gpu",
    "training_device",
]

GPU_INSTALL = "pip install 'lung-hpo[gpu]'"  # the GPU extra: JAX with CUDA (see pyproject.toml)


class DeviceError(RuntimeError):
    """The backend does not see the GPU it was given; the message is one line that says why."""


def accelerators() -> list[str]:
    """Names of the GPUs the configured backend sees, in its order (``[]``: it trains on the CPU)."""
    keras = import_keras()
    backend = keras.backend.backend()
    if backend == "jax":
        return [device.device_kind for device in _jax_gpus()]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    import tensorflow as tf

    return [
        str(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name))
        for gpu in tf.config.list_physical_devices("GPU")
    ]


def _jax_gpus() -> list:  # of jax.Device; jax is imported only on the jax backend
    import jax

    return [device for device in jax.devices() if device.platform in ("gpu", "cuda", "rocm")]


def compute_capability() -> tuple[int, int] | None:
    """The CUDA compute capability of the first GPU the backend sees; ``None`` without one (or unknown)."""
    keras = import_keras()
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            gpus = _jax_gpus()
            if not gpus:
                return None
            major, minor = str(gpus[0].compute_capability).split(".")[:2]  # a ROCm GPU's "gfx..." raises
            return int(major), int(minor)
        if backend == "torch":
            import torch

            return tuple(torch.cuda.get_device_capability(0)) if torch.cuda.is_available() else None  # type: ignore[return-value]
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return None
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        return (int(capability[0]), int(capability[1])) if capability else None
    except (AttributeError, ValueError, RuntimeError):  # a backend that does not say
        return None


def training_device() -> str:
    """The device a run trains on: the first GPU's model name, or ``"cpu"``."""
    seen = accelerators()
    return seen[0] if seen else "cpu"


def require_one_gpu(gpu: str) -> str:
    """Checks that the backend sees exactly one GPU, the one this process was given; returns its name.

    Args:
        gpu: the GPU id the process was started for (``CUDA_VISIBLE_DEVICES`` holds it alone).

    Raises:
        DeviceError: the backend sees no GPU or several, with which backend, what it sees and the
            install that brings a GPU backend.
    """
    keras = import_keras()
    backend = keras.backend.backend()
    seen = accelerators()
    if len(seen) == 1:
        return seen[0]
    what = "no GPU, only the CPU" if not seen else f"{len(seen)} GPUs ({', '.join(seen)})"
    raise DeviceError(
        f"GPU {gpu}: the Keras {backend} backend sees {what} (CUDA_VISIBLE_DEVICES="
        f"{os.environ.get('CUDA_VISIBLE_DEVICES', '')!r}); install a GPU backend with {GPU_INSTALL} and set "
        "KERAS_BACKEND=jax, or run without --gpus to train on the CPU"
    )
