"""The default study against the grid over every study seed `bench.search` has been run with.

One `bench.search` run is one study seed: one split of the images, one set of draws. Whether
the default study beats the researchers' grid by the +0.01 test DICE the search is held to is
a claim about seeds, so this table puts the runs side by side. It reads the ``search*.json``
files in the results folder and combines only runs of one fidelity (image size, steps per
epoch) whose default arm is labelled alike, i.e. ran the same sampler and pruner; a run at
another fidelity, or of an earlier default, gets a table of its own.

`bench.search` rebuilds it after every run; ``python -m bench.search_seeds`` rebuilds it alone.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from bench.common import RESULTS, publish, render_readme, results_folder

__all__ = ["TARGET", "gains_over_seeds", "main"]

TARGET = 0.01  # the test DICE the default study's pick must gain over the grid's (issue #13)
_NAME = "search-over-seeds"
_DICE = "pick test DICE (native)"


def _runs(folder: Path) -> list[dict[str, Any]]:
    """The `bench.search` results in ``folder`` that hold a grid row and a default-study row."""
    runs = []
    for path in sorted(folder.glob("search*.json")):
        if path.stem.startswith(_NAME):  # this module's own tables, one per fidelity
            continue
        document = json.loads(path.read_text())
        rows = document.get("rows", [])
        grid = next((row for row in rows if row["arm"].startswith("grid")), None)
        default = next((row for row in rows if row["arm"].startswith("default")), None)
        if grid is not None and default is not None:
            runs.append({"machine": document.get("machine", {}), "grid": grid, "default": default})
    return runs


def gains_over_seeds(folder: Path) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Per fidelity and default arm: what the runs share, and one row per study seed, in seed order."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for run in _runs(folder):
        where = run["machine"]
        key = (where.get("image_size"), where.get("steps_per_epoch"), run["default"]["arm"])
        groups.setdefault(key, []).append(run)
    tables = []
    for (image_size, steps, arm), runs in sorted(groups.items(), key=lambda item: str(item[0])):
        rows = []
        for run in sorted(runs, key=lambda run: run["machine"].get("study seed", 0)):
            grid, default = run["grid"], run["default"]
            gain = default[_DICE] - grid[_DICE]
            rows.append({
                "study seed": run["machine"].get("study seed", 0),
                "grid test DICE": grid[_DICE],
                "default test DICE": default[_DICE],
                "gain": gain,
                f"meets +{TARGET}": "yes" if gain >= TARGET else "no",
                "grid epochs": grid["total epochs"],
                "default epochs": default["total epochs"],
                "best test DICE of any trial": max(grid["best test DICE of any trial"],
                                                   default["best test DICE of any trial"]),
            })  # fmt: skip
        shared = {"image_size": image_size, "steps_per_epoch": steps, "default arm": arm}
        tables.append((shared, rows))
    return tables


def _notes(rows: list[dict[str, Any]]) -> list[str]:
    gains = [row["gain"] for row in rows]
    met = sum(gain >= TARGET for gain in gains)
    spread = f", sd {statistics.stdev(gains):.4f}" if len(gains) > 1 else ""
    return [
        f"Over {len(gains)} study seed{'s' * (len(gains) != 1)}: mean gain {statistics.fmean(gains):+.4f}{spread}; "
        f"the +{TARGET} target is met in {met} of {len(gains)}.",
        "Each row is one `python -m bench.search --seed N` run (search.json for seed 0, search-seedN.json "
        "otherwise); each pick's test DICE is the mean over that run's final seeds. 'best test DICE of any "
        "trial' is chosen by nothing: where it lies below the grid's + 0.01, no search at that fidelity "
        "could have met the target.",
    ]


def main() -> None:
    """Rewrites the over-seeds table(s) from the results folder (one file per fidelity and default)."""
    folder = results_folder()
    for stale in folder.glob(f"{_NAME}*.json"):
        stale.unlink()
    for index, (shared, rows) in enumerate(gains_over_seeds(folder)):
        publish(
            _NAME if index == 0 else f"{_NAME}-{index + 1}",
            "Does the default study beat the grid? Its test DICE gain over each study seed",
            rows,
            notes=_notes(rows),
            meta=shared,
        )
    if folder == RESULTS:
        render_readme()  # also when no table is left


if __name__ == "__main__":
    main()
