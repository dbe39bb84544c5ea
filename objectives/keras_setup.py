"""Chooses the Keras backend before Keras is imported, and imports it quietly.

Keras reads ``KERAS_BACKEND`` once, at import; left unset it guesses from a config file in the
user's home. lung-hpo always sets it: TensorFlow unless the user chose ``jax`` or ``torch``
(GPU machines may have only those).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
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
    # 3: TensorFlow's C++ log shows nothing of its own. Its errors reach users as Python
    # exceptions; what it logs besides is noise such as oneDNN's "E0000 ... supports DT_INT32
    # only on platforms with AVX-512", printed during augmentation. Set it to see them.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return chosen


@contextlib.contextmanager
def _native_stderr_held() -> Iterator[None]:
    """Holds back what native code writes to file descriptor 2 meanwhile; shows it only on failure.

    TensorFlow's C++ start-up lines (absl's "All log messages before absl::InitializeLog()",
    oneDNN's notice) are written while its libraries load, before any log level is read, so
    they can only be caught at the descriptor.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a detached process): nothing to hold back
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def import_keras() -> Any:
    """Imports Keras with the configured backend; fails clearly if it was imported with another.

    The first import is quiet: TensorFlow's native start-up lines are held back (and shown if
    the import fails), and its Python logger, which warns about function retracing between
    trials, shows errors only.
    """
    backend = configure_backend()
    if "keras" not in sys.modules:
        with _native_stderr_held():
            import keras
        if backend == "tensorflow":
            logging.getLogger("tensorflow").setLevel(logging.ERROR)
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(
            f"Keras was already imported with the {keras.backend.backend()!r} backend, "
            f"but {backend!r} was asked for; set KERAS_BACKEND before starting"
        )
    return keras
