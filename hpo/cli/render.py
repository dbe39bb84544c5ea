"""How results look: Rich tables for people, JSON (or CSV) for scripts (``--format``).

Every command prints through these functions, on the stdout console of `hpo.cli.common`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from hpo.results.predict import PredictionReport
    from objectives.data import Skipped

__all__ = ["OutputFormat", "print_predictions", "print_record", "print_studies", "print_trials", "show_table"]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def show_table(
    console: Console,
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    wide: Sequence[str] = (),
    numeric: Sequence[str] = (),
) -> None:
    """A table: drawn by Rich on a terminal; tab-separated lines, a header first, when piped.

    Piped output is for ``cut``, ``sort`` and spreadsheets: nothing wraps or is cut at 80
    columns, and the title goes to stderr so that stdout holds the data alone.

    Args:
        wide: headers of columns that may fold on a terminal (long names, parameters); the
            others never wrap, so numbers stay whole.
        numeric: headers of right-aligned columns.
    """
    if not console.is_terminal:
        if title:
            Console(stderr=True, markup=False, highlight=False, soft_wrap=True).print(title)
        for line in (headers, *rows):
            typer.echo("\t".join(" ".join(str(cell).replace("\t", " ").split("\n")) for cell in line))
        return
    table = Table(title=title or None, box=box.SIMPLE_HEAD)
    for header in headers:
        if header in wide:
            table.add_column(header, overflow="fold", ratio=1)
        else:
            table.add_column(header, no_wrap=True, justify="right" if header in numeric else "left")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def print_record(record: dict[str, Any], output: OutputFormat, console: Console, title: str) -> None:
    """Prints one record: JSON on one line, or a two-column table with params flattened."""
    if output is OutputFormat.json:
        typer.echo(json.dumps(record, default=str))
        return
    rows = []
    for key, value in record.items():
        if key == "params":
            rows += [(f"param {name}", _cell(param)) for name, param in value.items()]
        else:
            rows.append((key, _cell(value)))
    show_table(console, title, ("field", "value"), rows, wide=("value",))


def print_studies(rows: Sequence[dict[str, Any]], output: OutputFormat, console: Console) -> None:
    """`hpo study list`: one row per study, progress against its budget and its best DICE."""
    if output is OutputFormat.json:
        typer.echo(json.dumps(list(rows), default=str, allow_nan=False))
        return
    if not rows:
        console.print("No studies in this storage.")
        return
    headers = ("study", "finished\n/budget", "running", "failed", "best DICE\n(trial)", "sampler", "pruner", "data")
    cells = []
    for row in rows:
        budget = "?" if row["budget"] is None else row["budget"]
        top = "—" if row["best_dice"] is None else f"{row['best_dice']:.4f} #{row['best_trial']}"
        values = [row["study"], f"{row['finished']}/{budget}", row["running"], row["failed"], top]
        cells.append([_cell(value) for value in [*values, row["sampler"], row["pruner"], row["data"]]])
    show_table(console, "Studies", headers, cells, wide=("study", "data"))


def print_trials(rows: Sequence[dict[str, Any]], output: OutputFormat, console: Console, title: str) -> None:
    """`hpo study show`: metrics in narrow columns; parameters, and why a trial failed, in the last."""
    if output is OutputFormat.json:
        typer.echo(json.dumps(list(rows), default=str, allow_nan=False))
        return
    headers = ("#", "state", "DICE", "train\nacc", "val\nacc", "wall\ns", "pruned\nat", "params / failure")
    cells = []
    for row in rows:
        notes = [", ".join(f"{key}={_cell(value)}" for key, value in row["params"].items())]
        if row["failure"]:
            notes.append(row["failure"])
        cells.append(
            (
                str(row["number"]),
                row["state"],
                *(_metric(row[key]) for key in ("dice", "train_accuracy", "val_accuracy")),
                "—" if row["wall_time_s"] is None else f"{row['wall_time_s']:.1f}",
                _cell(row["pruned_at_epoch"]),
                "\n".join(note for note in notes if note),
            )
        )
    numeric = [header for header in headers if header not in ("state", "params / failure")]
    show_table(console, title, headers, cells, wide=("params / failure",), numeric=numeric)


def print_predictions(
    report: PredictionReport, skipped: Sequence[Skipped], output: OutputFormat, console: Console
) -> None:
    """`hpo predict`: each input with the mask and overlay written for it."""
    if output is OutputFormat.json:
        written = [
            {
                "input": str(item.source),
                "width": item.size[1],
                "height": item.size[0],
                "lung_fraction": item.lung_fraction,
                "mask": str(item.mask),
                "overlay": str(item.overlay),
            }
            for item in report.written
        ]
        reasons = [{"input": entry.item, "reason": entry.reason} for entry in skipped]
        typer.echo(json.dumps({"written": written, "skipped": reasons}))
        return
    rows = [
        (_path(item.source), f"{item.size[1]}x{item.size[0]}", f"{item.lung_fraction:.1%}", _path(item.mask),
         _path(item.overlay))
        for item in report.written
    ]  # fmt: skip
    headers = ("input", "size (w x h)", "lung", "mask", "overlay")
    show_table(console, f"{len(report.written)} mask(s) written", headers, rows, wide=("input", "mask", "overlay"))


def _path(path: Path) -> str:
    """A path as short as it can be: relative to the working folder when it lies inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        if len(value) == 2 and all(isinstance(v, float) for v in value):
            return f"{value[0]:.4g} to {value[1]:.4g}"  # an interval, as the report writes it
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _metric(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"
