"""Building the project (what ``pip install`` does first) is quiet: no setuptools deprecation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_building_the_wheel_prints_no_deprecation_warning(tmp_path: Path) -> None:
    # A copy, so the build's egg-info and build/ folders never touch the checkout.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "*.egg-info", "build", "__pycache__", "bench"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    output = build.stdout + build.stderr
    assert build.returncode == 0, output[-2000:]
    assert list(tmp_path.glob("lung_hpo-*.whl"))
    assert "deprecat" not in output.lower(), [line for line in output.splitlines() if "eprecat" in line]
