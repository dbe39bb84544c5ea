"""`bench.search_seeds`: the default study's gain over the grid, one row per study seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import search_seeds

_DEFAULT = "default (tpe + median pruning)"


def _run(folder: Path, name: str, seed: int, grid: float, default: float, *, image_size: int = 64,
         arm: str = _DEFAULT) -> None:  # fmt: skip
    """A `bench.search` result as it writes one: grid first, then the other arms."""

    def row(label: str, dice: float) -> dict[str, object]:
        return {"arm": label, "total epochs": 103, "pick test DICE (native)": dice,
                "best test DICE of any trial": dice + 0.002}  # fmt: skip

    rows = [row("grid (seed preset, unpruned)", grid), row(arm, default), row("random, unpruned", 0.99)]
    machine = {"image_size": image_size, "steps_per_epoch": 10, "study seed": seed}
    (folder / f"{name}.json").write_text(json.dumps({"title": "t", "rows": rows, "machine": machine}))


def test_each_seed_is_one_row_with_its_gain_and_the_target(tmp_path: Path) -> None:
    _run(tmp_path, "search-seed1", 1, grid=0.944, default=0.947)
    _run(tmp_path, "search", 0, grid=0.935, default=0.946)
    ((shared, rows),) = search_seeds.gains_over_seeds(tmp_path)
    assert shared == {"image_size": 64, "steps_per_epoch": 10, "default arm": _DEFAULT}
    assert [row["study seed"] for row in rows] == [0, 1]  # seed order, not file order
    assert rows[0]["gain"] == pytest.approx(0.011) and rows[0]["meets +0.01"] == "yes"
    assert rows[1]["gain"] == pytest.approx(0.003) and rows[1]["meets +0.01"] == "no"
    assert rows[1]["best test DICE of any trial"] == pytest.approx(0.949)  # the higher of grid and default
    assert "random" not in json.dumps(rows)  # random search is not the arm held to the target


def test_runs_of_another_fidelity_or_another_default_are_not_mixed(tmp_path: Path) -> None:
    _run(tmp_path, "search", 0, grid=0.935, default=0.946)
    _run(tmp_path, "search-seed1", 1, grid=0.944, default=0.947, image_size=128)
    _run(tmp_path, "search-seed2", 2, grid=0.94, default=0.95, arm="default (tpe + hyperband pruning)")
    tables = search_seeds.gains_over_seeds(tmp_path)
    assert sorted(len(rows) for _, rows in tables) == [1, 1, 1]


def test_its_own_tables_are_not_read_as_runs(tmp_path: Path) -> None:
    _run(tmp_path, "search", 0, grid=0.935, default=0.946)
    for name in ("search-over-seeds", "search-over-seeds-2"):  # one table per fidelity, as main writes them
        (tmp_path / f"{name}.json").write_text(json.dumps({"title": "t", "rows": [{"study seed": 0}]}))
    ((_, rows),) = search_seeds.gains_over_seeds(tmp_path)
    assert len(rows) == 1


def test_main_rewrites_the_table_and_states_how_often_the_target_is_met(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HPO_BENCH_RESULTS", str(tmp_path))
    _run(tmp_path, "search", 0, grid=0.935, default=0.946)
    _run(tmp_path, "search-seed1", 1, grid=0.944, default=0.947)
    (tmp_path / "search-over-seeds-2.json").write_text("{}")  # left by an earlier run with two fidelities
    search_seeds.main()
    assert sorted(path.name for path in tmp_path.glob("search-over-seeds*")) == ["search-over-seeds.json"]
    document = json.loads((tmp_path / "search-over-seeds.json").read_text())
    assert len(document["rows"]) == 2  # its own earlier output is not read back as a run
    assert document["notes"][0].startswith("Over 2 study seeds: mean gain +0.0070")
    assert "met in 1 of 2" in document["notes"][0]
    search_seeds.main()  # idempotent: the table is not counted as a seed the second time
    assert len(json.loads((tmp_path / "search-over-seeds.json").read_text())["rows"]) == 2
