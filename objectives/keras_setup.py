"""Chooses the Keras backend before Keras is imported, and imports it quietly.

Keras reads ``KERAS_BACKEND`` once, at import; left unset it guesses from a config file in the
user's home. lung-hpo always sets it: TensorFlow unless the user chose ``jax`` or ``torch``
(GPU machines may have only those).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "configure_backend", "import_keras"]

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT_BACKEND = "tensorflow"


def configure_backend(backend: str | None = None) -> str:
    """Fixes the backend Keras will use and quiets TensorFlow's C++ start-up logs.

    Args:
        backend: one of `BACKENDS`; ``None`` keeps ``KERAS_BACKEND`` or falls back to TensorFlow.

    Returns:
        The backend that is now configured.
    """
    chosen = backend or os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND
    if chosen not in BACKENDS:
        raise ValueError(f"Keras backend must be one of {BACKENDS}, but got {chosen!r}")
    os.environ["KERAS_BACKEND"] = chosen
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return chosen


def import_keras() -> Any:
    """Imports Keras with the configured backend; fails clearly if it was imported with another."""
    backend = configure_backend()
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(
            f"Keras was already imported with the {keras.backend.backend()!r} backend, "
            f"but {backend!r} was asked for; set KERAS_BACKEND before starting"
        )
    return keras
