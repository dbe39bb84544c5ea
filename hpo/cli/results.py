"""Commands that read finished work: ``hpo study list|show|best|export``, ``hpo dashboard``,
``hpo model export`` and ``hpo predict``.

They share the options and error handling of `hpo.cli.common`; `hpo.cli` registers them with
`register_results_commands`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from hpo.cli.common import (
    ArtifactsOption,
    FormatOption,
    StorageOption,
    clear_errors,
    console,
    error_console,
    print_error,
    print_warning,
    resolve_artifact_dir,
)
from hpo.cli.render import OutputFormat, best_trial_record, print_record
from hpo.results.dashboard import DEFAULT_HOST, DEFAULT_PORT
from storage import DEFAULT_STORAGE_URL

if TYPE_CHECKING:
    from hpo.results.models import PredictionReport
    from objectives.data import Skipped

__all__ = ["ExportFormat", "model_app", "register_results_commands"]

model_app = typer.Typer(help="Export trained models.", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(help="Study name.", metavar="NAME", show_default=False)]


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


def study_list(storage: StorageOption = DEFAULT_STORAGE_URL, output: FormatOption = OutputFormat.table) -> None:
    """List the studies in the storage: progress against budget, best DICE, sampler, pruner, data.

    Example: [bold]hpo study list --storage sqlite:///runs/lung.db[/]
    """
    from hpo.results.records import records_to_json, study_records

    with clear_errors():
        records = study_records(storage)
    if output is OutputFormat.json:
        typer.echo(records_to_json(records))
        return
    console.print(_studies_table(records) if records else "No studies in this storage.")


def study_show(
    name: NameArgument,
    storage: StorageOption = DEFAULT_STORAGE_URL,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Show a study's trials: state, parameters, DICE, accuracies, wall time, where pruned, why failed.

    Example: [bold]hpo study show lungs --format json[/]
    """
    from hpo.results.records import read_study, records_to_json, trial_records

    with clear_errors():
        records = trial_records(read_study(storage, name))
    if output is OutputFormat.json:
        typer.echo(records_to_json(records))
        return
    console.print(_trials_table(records, f"Trials of study {name!r}"))


def study_best(
    name: NameArgument,
    storage: StorageOption = DEFAULT_STORAGE_URL,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Show the study's best completed trial: DICE, metrics and parameters.

    Example: [bold]hpo study best lungs[/]
    """
    from hpo.results.records import read_study

    with clear_errors():
        record = best_trial_record(read_study(storage, name))
    if record is None:
        print_error(f"study {name!r} has no completed trial yet")
        raise typer.Exit(1)
    print_record(record, output, console, title=f"Best trial of study {name!r}")


def study_export(
    name: NameArgument,
    storage: StorageOption = DEFAULT_STORAGE_URL,
    export_format: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = ExportFormat.csv,
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
) -> None:
    """Export every trial of a study, one row or object per trial, parameters as param_<name>.

    Example: [bold]hpo study export lungs --format csv --out lungs.csv[/]
    """
    from hpo.results.records import read_study, records_to_csv, records_to_json, trial_records

    with clear_errors():
        records = trial_records(read_study(storage, name))
    text = records_to_csv(records) if export_format is ExportFormat.csv else records_to_json(records) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    error_console.print(f"Wrote {len(records)} trials of study {name!r} to {out}.", soft_wrap=True)


def dashboard(
    storage: StorageOption = DEFAULT_STORAGE_URL,
    artifacts: ArtifactsOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 opens it to the network.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
) -> None:
    """Browse studies in optuna-dashboard, with each trial's prediction figure.

    Example: [bold]hpo dashboard --storage sqlite:///runs/lung.db --port 8081[/]
    """
    from hpo.results.dashboard import dashboard_url, is_loopback, serve_dashboard

    artifact_dir = resolve_artifact_dir(storage, artifacts)
    if not artifact_dir.is_dir():
        error_console.print(
            f"No artifact folder at {artifact_dir}: trials will show no figures (see --artifacts).",
            soft_wrap=True,
        )
    if not is_loopback(host):
        print_warning(f"anyone who reaches {host}:{port} can read, edit and delete studies.")
    console.print(f"optuna-dashboard at {dashboard_url(host, port, storage)}; Ctrl-C stops it.", soft_wrap=True)
    with clear_errors():
        serve_dashboard(storage, artifact_dir, host=host, port=port)


@model_app.command("export")
def model_export(
    name: NameArgument,
    out: Annotated[Path, typer.Option("--out", help="The .keras file to write.", show_default=False)],
    storage: StorageOption = DEFAULT_STORAGE_URL,
    artifacts: ArtifactsOption = None,
    trial: Annotated[int | None, typer.Option(min=0, help="Export this trial's model (default: the best).")] = None,
    force: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Write the trained Keras model of a study's best trial.

    Example: [bold]hpo model export lungs --out best.keras[/]
    """
    from hpo.results.models import export_best_model

    with clear_errors():
        exported = export_best_model(
            storage, name, resolve_artifact_dir(storage, artifacts), out, trial, overwrite=force
        )
    if output is OutputFormat.json:
        typer.echo(json.dumps({"study": name, "trial": exported.trial, "dice": exported.dice, "path": str(out)}))
        return
    dice = "—" if exported.dice is None else f"{exported.dice:.4f}"
    console.print(f"Wrote the model of trial #{exported.trial} (DICE {dice}) to {out}.", soft_wrap=True)


def predict(
    model: Annotated[
        Path, typer.Argument(help="A .keras model, e.g. from hpo model export.", metavar="MODEL", show_default=False)
    ],
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="DICOM (.dcm), PNG or JPEG files, or folders of them.", metavar="INPUT", show_default=False
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the masks and overlays.", show_default=False)],
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Probability counted as lung.")] = 0.5,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Segment the lungs on new X-rays: <stem>_mask.png (0/255) and <stem>_overlay.png at each input's size.

    Example: [bold]hpo predict best.keras scans/ --out masks/[/]
    """
    from hpo.results.models import INPUT_SUFFIXES, collect_inputs, predict_files

    with clear_errors():
        files, unusable = collect_inputs(inputs, exclude=out)
        report = predict_files(model, files, out, threshold, console=error_console) if files else None
    skipped = [*unusable, *(report.skipped if report else ())]
    for entry in skipped:
        error_console.print(Text.assemble(("skipped", "yellow"), f" {entry.item}: {entry.reason}"), soft_wrap=True)
    if report is None or not report.written:
        found = f"{len(files)} image file(s) found ({', '.join(INPUT_SUFFIXES)}), {len(skipped)} skipped"
        print_error(f"no usable input: {found}")
        raise typer.Exit(1)
    _print_predictions(report, skipped, output)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _studies_table(records: list[dict[str, Any]]) -> Table:
    table = Table(title="Studies", box=box.SIMPLE_HEAD)
    table.add_column("study", overflow="fold")
    for column in ("finished\n/budget", "running", "failed", "best DICE\n(trial)", "sampler", "pruner"):
        table.add_column(column, no_wrap=True)
    table.add_column("data", overflow="fold", ratio=1)
    for record in records:
        budget = "?" if record["budget"] is None else record["budget"]
        best = "—" if record["best_dice"] is None else f"{record['best_dice']:.4f} #{record['best_trial']}"
        cells = [record["study"], f"{record['finished']}/{budget}", record["running"], record["failed"], best]
        table.add_row(*(_cell(value) for value in [*cells, record["sampler"], record["pruner"], record["data"]]))
    return table


def _trials_table(records: list[dict[str, Any]], title: str) -> Table:
    """Metrics in narrow columns; the parameters, and why a trial failed, in the last, wrapped."""
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in ("#", "state", "DICE", "train\nacc", "val\nacc", "wall\ns", "pruned\nat"):
        table.add_column(column, no_wrap=True, justify="right" if column != "state" else "left")
    table.add_column("params / failure", overflow="fold", ratio=1)
    for record in records:
        notes = [", ".join(f"{key}={_cell(value)}" for key, value in record["params"].items())]
        if record["failure"]:
            notes.append(record["failure"])
        table.add_row(
            str(record["number"]),
            record["state"],
            *(_metric(record[key]) for key in ("dice", "train_accuracy", "val_accuracy")),
            "—" if record["wall_time_s"] is None else f"{record['wall_time_s']:.1f}",
            _cell(record["pruned_at_epoch"]),
            "\n".join(note for note in notes if note),
        )
    return table


def _metric(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _print_predictions(report: PredictionReport, skipped: list[Skipped], output: OutputFormat) -> None:
    rows: list[dict[str, Any]] = [
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
    if output is OutputFormat.json:
        reasons = [{"input": entry.item, "reason": entry.reason} for entry in skipped]
        typer.echo(json.dumps({"written": rows, "skipped": reasons}))
        return
    table = Table(title=f"{len(rows)} mask(s) written")
    for column in ("input", "size (w x h)", "lung", "mask"):
        table.add_column(column, overflow="fold")
    for item in report.written:
        size = f"{item.size[1]}x{item.size[0]}"
        table.add_row(str(item.source), size, f"{item.lung_fraction:.1%}", str(item.mask))
    console.print(table)


def register_results_commands(app: typer.Typer, study_app: typer.Typer) -> None:
    """Adds the commands of this module to the main app and its ``study`` group."""
    study_app.command("list")(study_list)
    study_app.command("show")(study_show)
    study_app.command("best")(study_best)
    study_app.command("export")(study_export)
    app.command("dashboard")(dashboard)
    app.command("predict")(predict)
    app.add_typer(model_app, name="model")
