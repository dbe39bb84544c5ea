"""Shared output of the benchmarks: a printed table, the same numbers as JSON, and bench/README.md.

Every benchmark calls `publish`; the README's tables are rendered from the JSON files in
``bench/results/`` and are never typed by hand.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["RESULTS", "machine", "publish", "quiet_optuna", "readme_text", "render_readme", "results_folder"]

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
# Set (by the smoke tests) to write a benchmark's JSON elsewhere and leave bench/README.md alone.
RESULTS_VARIABLE = "HPO_BENCH_RESULTS"

_INTRO = """# Benchmarks

Each benchmark is one command, run from the repository root after `make test` has built
`.venv`. It prints a table and writes the same numbers to `bench/results/NAME.json`; this file
is rebuilt from those JSON files by every run (`python -m bench.common` rebuilds it alone), so
no figure below is typed by hand. Ratios compare against a baseline measured in the same run.

| benchmark | command |
|---|---|
| training pipeline throughput | `.venv/bin/python -m bench.pipeline` |
| memory over 30 trials | `.venv/bin/python -m bench.memory` |
| DICE on real chest X-rays | `.venv/bin/python -m bench.real_data` |
| storage cost with 1 to 8 workers | `.venv/bin/python -m bench.storage` |
| seed-preset baseline: lung-hpo vs plain Keras | `.venv/bin/python -m bench.reference` |
| search efficiency: seed grid, default study, random search | `.venv/bin/python -m bench.search` |
| default study's gain over the grid, every study seed side by side | `.venv/bin/python -m bench.search_seeds` |
| which ranges to search: validation DICE by value, random study | `.venv/bin/python -m bench.space` |
| when DICE ranks trials: warm-up evidence, pruners replayed on the same curves | `.venv/bin/python -m bench.warmup` |
| what a time budget buys: a default study, start to final score | `.venv/bin/python -m bench.budget --time-budget 1h` |
| accelerator: throughput, GPU busy, trials per hour (run it where a GPU is) | `.venv/bin/python -m bench.gpu` |

On a machine with NVIDIA GPUs, `bash bench/gpu_check.sh OUT` is the whole GPU acceptance run in
about 8 minutes: `hpo worker --gpus all` on a small demo study, with the device each trial trained
on and a PASS or FAIL in `OUT/worker-check.txt`, then `bench.gpu` in the time left: throughput
on jax and torch, and 1, 2, 4 and 6 processes per GPU on jax. Copy `OUT/gpu.json` and `OUT/gpu_packing.json` into
`bench/results/` and run `python -m bench.common`. For a machine without network whose Python
already has CUDA builds of JAX and PyTorch, `bash bench/gpu_wheels.sh DIR` downloads the other
wheels it needs (about 19 MB); the script says how to install them there.

"""


def machine() -> dict[str, Any]:
    """Where a benchmark ran, recorded beside its numbers."""
    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "processor": platform.machine(),
    }
    keras = sys.modules.get("keras")  # only when the benchmark itself used Keras
    if keras is not None:
        info["keras_backend"] = keras.backend.backend()
        info["keras"] = keras.__version__
    return info


def quiet_optuna() -> None:
    """Keeps Optuna's INFO lines (one per study and trial) off a benchmark's terminal, as the CLI does."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def results_folder() -> Path:
    """Where this run's results go: ``bench/results``, or the folder ``HPO_BENCH_RESULTS`` names."""
    elsewhere = os.environ.get(RESULTS_VARIABLE)
    return Path(elsewhere) if elsewhere else RESULTS


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def publish(
    name: str,
    title: str,
    rows: list[dict[str, Any]],
    notes: Sequence[str] = (),
    meta: dict[str, Any] | None = None,
) -> None:
    """Prints ``rows`` as a table, writes ``results/NAME.json`` and re-renders bench/README.md."""
    columns = list(rows[0]) if rows else []
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(column, "")) for column in columns))
    console = Console()
    console.print(table)
    for note in notes:
        console.print(note)
    results = results_folder()
    results.mkdir(parents=True, exist_ok=True)
    document = {"title": title, "columns": columns, "rows": rows, "notes": list(notes), "machine": meta or machine()}
    (results / f"{name}.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    if results == RESULTS:
        render_readme()


def readme_text() -> str:
    """bench/README.md as the JSON files in `RESULTS` render it: the intro, then one section each."""
    sections = [_INTRO]
    for path in sorted(RESULTS.glob("*.json")):
        document = json.loads(path.read_text())
        if "title" not in document or "rows" not in document:
            continue
        columns = document.get("columns") or (list(document["rows"][0]) if document.get("rows") else [])
        where = ", ".join(f"{key} {value}" for key, value in document.get("machine", {}).items())
        sections.append(f"## {document['title']}\n\n`{path.stem}`: {where}\n")
        if columns:
            sections.append("| " + " | ".join(columns) + " |")
            sections.append("|" + "---|" * len(columns))
            for row in document["rows"]:
                sections.append("| " + " | ".join(_cell(row.get(column, "")) for column in columns) + " |")
        for note in document.get("notes", []):
            sections.append(f"\n{note}")
        sections.append("")
    return "\n".join(sections)


def render_readme() -> None:
    """Rewrite bench/README.md from the results."""
    (BENCH / "README.md").write_text(readme_text())


if __name__ == "__main__":
    render_readme()
