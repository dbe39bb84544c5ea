"""What a user's terminal shows, captured whole at the file descriptors of real processes.

CliRunner only sees what Python prints through ``sys.stdout``; TensorFlow's C++ log, mdai's
prints and a child worker's output go to the descriptors, so these tests run ``python -m hpo``
as a user would and read everything it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from objectives.phantom import make_phantom
from tests.objectives_tests.data.conftest import ExportBuilder, square_polygon
from tests.terminal import NOISE


def _hpo(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-m", "hpo", *arguments],
        cwd=cwd,
        env=environment,  # the project's own defaults, not the test suite's
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _quiet(result: subprocess.CompletedProcess[str]) -> None:
    for stream in (result.stdout, result.stderr):
        assert not NOISE.search(stream), stream


@pytest.mark.slow
def test_the_demo_prints_json_alone_on_stdout_and_no_library_noise(tmp_path: Path) -> None:
    result = _hpo("demo", "--n-trials", "2", "--final-seeds", "1", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["study"] == "demo" and row["test_dice"] is not None
    _quiet(result)
    assert "Final score: retraining trial #" in result.stderr  # progress stays on stderr


def test_study_create_on_an_mdai_export_shows_no_mdai_prints(tmp_path: Path) -> None:
    builder = ExportBuilder(tmp_path / "export")
    for index in range(6):
        image, _ = make_phantom(np.random.default_rng(index), 48)
        uids = builder.add_image(index, (image * 4095).astype(np.uint16))
        builder.annotate(uids, ExportBuilder.LUNG, {"vertices": square_polygon(8, 6, 40, 34)})
    builder.write()
    storage = f"sqlite:///{tmp_path / 'studies.db'}"

    created = _hpo("study", "create", "m", "--storage", storage, "--data", f"mdai-export:{builder.root}",
                   "--n-trials", "2", cwd=tmp_path)  # fmt: skip
    inspected = _hpo("data", "inspect", f"mdai-export:{builder.root}", "--format", "json", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "Created study 'm'" in created.stdout
    _quiet(created)
    assert inspected.returncode == 0, inspected.stderr
    # inspect names the labels it took as lung: every area label named like lung, by default
    assert json.loads(inspected.stdout)["lung_labels"] == [
        "L_lung (Lung)", "L_lungbox (Lung box)", "L_lungmask (Left LUNG (mask))"
    ]  # fmt: skip
    _quiet(inspected)
    chosen = _hpo("data", "inspect", f"mdai-export:{builder.root}", "--label-id", ExportBuilder.LUNG, cwd=tmp_path)
    assert chosen.returncode == 0, chosen.stderr
    assert "lung labels\tL_lung (Lung)" in chosen.stdout  # piped: the table as tab-separated lines
