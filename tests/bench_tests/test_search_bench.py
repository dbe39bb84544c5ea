"""`bench.search` as a smoke test: the grid and one other arm, end to end, on tiny synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench_tests.running import run_bench


@pytest.mark.slow  # the grid alone is 10 trials of 5 to 20 epochs
@pytest.mark.timeout(1800)  # two arms of 103 epochs and their final scores: minutes, many more on a loaded machine
def test_bench_search_runs_the_grid_and_the_previous_default(tmp_path: Path) -> None:
    run_bench("bench.search", ["--data", "synthetic:24", "--image-size", "32", "--steps-per-epoch", "1",
                               "--arms", "previous"], tmp_path, timeout=1740)  # fmt: skip
    document = json.loads((tmp_path / "search.json").read_text())
    grid, previous = document["rows"]
    assert grid["arm"].startswith("grid") and grid["trials"] == 10 and grid["pruned"] == 0
    assert previous["arm"].startswith("previous default")
    assert previous["total epochs"] == grid["total epochs"]  # the epoch budget stops its last trial
    assert 0.0 <= previous["pick test DICE (native)"] <= 1.0
    assert previous["sd over seeds"] == 0.0  # one retraining seed by default: no spread to show
    low, high = (float(bound) for bound in previous["95% CI over images"].split(" to "))
    assert low <= round(previous["pick test DICE (native)"], 3) <= high
    assert (tmp_path / "seed-report").is_dir()  # the grid's report lands beside the JSON, not in bench/results
    (note,) = document["notes"]
    assert note.startswith("previous default") and "test DICE against the grid's" in note


def test_bench_search_refuses_an_unknown_arm(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.search import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--arms", "grid,bayes"])
    assert exit_info.value.code == 2 and "--arms: unknown bayes" in capsys.readouterr().err
