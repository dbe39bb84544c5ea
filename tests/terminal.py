"""What no terminal output of lung-hpo may contain (see tests/hpo_tests/test_quiet_terminal.py)."""

from __future__ import annotations

import re

# Lines no command may show: library prints, C++ logs, warnings, Optuna's INFO log, tracebacks.
NOISE = re.compile(
    r"Number of annotations|Dataset contains|Label Group|Labels:|No annotations"  # mdai's prints
    r"|absl::|oneDNN|cpu_feature_guard|^[IWE]\d{4} |WARNING:tensorflow|tf\.function|retracing"  # TensorFlow
    r"|Warning:|ExperimentalWarning|^\[[IW] \d{4}-"  # Python warnings, Optuna's log
    r"|Traceback",
    re.MULTILINE,
)
