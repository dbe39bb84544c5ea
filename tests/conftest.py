"""Test-wide settings: Keras on TensorFlow unless told otherwise, nothing written to $HOME."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SCRATCH = Path(tempfile.mkdtemp(prefix="lung-hpo-tests-"))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ["KERAS_HOME"] = str(_SCRATCH / "keras")
os.environ["HPO_CACHE_DIR"] = str(_SCRATCH / "cache")
os.environ["MPLBACKEND"] = "Agg"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
for variable in ("HPO_STORAGE", "HPO_ARTIFACTS", "MDAI_TOKEN"):
    os.environ.pop(variable, None)
