"""How results look: Rich tables for people, JSON (or CSV) for scripts (``--format``).

Every command prints through these functions, on the stdout console of `hpo.cli.common`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from hpo.results.predict import PredictionReport
    from objectives.data import Skipped

__all__ = ["OutputFormat", "print_predictions", "print_record", "print_studies", "print_trials"]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def print_record(record: dict[str, Any], output: OutputFormat, console: Console, title: str) -> None:
    """Prints one record: JSON on one line, or a two-column table with params flattened."""
    if output is OutputFormat.json:
        typer.echo(json.dumps(record, default=str))
        return
    table = Table(title=title, show_header=True)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        if key == "params":
            for name, param in value.items():
                table.add_row(f"param {name}", _cell(param))
        else:
            table.add_row(key, _cell(value))
    console.print(table)


def print_studies(rows: Sequence[dict[str, Any]], output: OutputFormat, console: Console) -> None:
    """`hpo study list`: one row per study, progress against its budget and its best DICE."""
    if output is OutputFormat.json:
        typer.echo(json.dumps(list(rows), default=str, allow_nan=False))
        return
    if not rows:
        console.print("No studies in this storage.")
        return
    table = Table(title="Studies", box=box.SIMPLE_HEAD)
    table.add_column("study", overflow="fold")
    for column in ("finished\n/budget", "running", "failed", "best DICE\n(trial)", "sampler", "pruner"):
        table.add_column(column, no_wrap=True)
    table.add_column("data", overflow="fold", ratio=1)
    for row in rows:
        budget = "?" if row["budget"] is None else row["budget"]
        top = "—" if row["best_dice"] is None else f"{row['best_dice']:.4f} #{row['best_trial']}"
        cells = [row["study"], f"{row['finished']}/{budget}", row["running"], row["failed"], top]
        table.add_row(*(_cell(value) for value in [*cells, row["sampler"], row["pruner"], row["data"]]))
    console.print(table)


def print_trials(rows: Sequence[dict[str, Any]], output: OutputFormat, console: Console, title: str) -> None:
    """`hpo study show`: metrics in narrow columns; parameters, and why a trial failed, in the last."""
    if output is OutputFormat.json:
        typer.echo(json.dumps(list(rows), default=str, allow_nan=False))
        return
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in ("#", "state", "DICE", "train\nacc", "val\nacc", "wall\ns", "pruned\nat"):
        table.add_column(column, no_wrap=True, justify="right" if column != "state" else "left")
    table.add_column("params / failure", overflow="fold", ratio=1)
    for row in rows:
        notes = [", ".join(f"{key}={_cell(value)}" for key, value in row["params"].items())]
        if row["failure"]:
            notes.append(row["failure"])
        table.add_row(
            str(row["number"]),
            row["state"],
            *(_metric(row[key]) for key in ("dice", "train_accuracy", "val_accuracy")),
            "—" if row["wall_time_s"] is None else f"{row['wall_time_s']:.1f}",
            _cell(row["pruned_at_epoch"]),
            "\n".join(note for note in notes if note),
        )
    console.print(table)


def print_predictions(
    report: PredictionReport, skipped: Sequence[Skipped], output: OutputFormat, console: Console
) -> None:
    """`hpo predict`: each mask written, with its input's size and lung fraction."""
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
    table = Table(title=f"{len(report.written)} mask(s) written")
    for column in ("input", "size (w x h)", "lung", "mask"):
        table.add_column(column, overflow="fold")
    for item in report.written:
        table.add_row(str(item.source), f"{item.size[1]}x{item.size[0]}", f"{item.lung_fraction:.1%}", str(item.mask))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _metric(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"
