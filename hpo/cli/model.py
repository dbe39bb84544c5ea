"""Commands that use trained models: ``hpo model export`` and ``hpo predict``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from hpo.cli.common import (
    DEFAULT_MDAI_DOMAIN,
    ArtifactsOption,
    FormatOption,
    KeepUnannotatedOption,
    LabelIdOption,
    MdaiDomainOption,
    NameArgument,
    StorageOption,
    clear_errors,
    console,
    error_console,
    print_error,
    print_warning,
    resolve_artifact_dir,
)
from hpo.cli.render import OutputFormat, print_predictions, print_record
from storage import DEFAULT_STORAGE_URL

__all__ = ["evaluate", "model_app", "predict"]

model_app = typer.Typer(help="Export trained models.", no_args_is_help=True)


@model_app.command("export")
def export(
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
    from hpo.results.export import export_model

    with clear_errors():
        exported = export_model(storage, name, resolve_artifact_dir(storage, artifacts), out, trial, overwrite=force)
    if output is OutputFormat.json:
        typer.echo(json.dumps({"study": name, "trial": exported.trial, "dice": exported.dice, "path": str(out)}))
        return
    dice = "—" if exported.dice is None else f"{exported.dice:.4f}"
    console.print(f"Wrote the model of trial #{exported.trial} (DICE {dice}) to {out}.")


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
    from hpo.results.predict import INPUT_SUFFIXES, predict_paths

    with clear_errors():
        report = predict_paths(model, inputs, out, threshold, console=error_console)
    for entry in report.skipped:
        print_warning(f"skipped {entry.item}: {entry.reason}")
    if not report.written:
        found = f"{report.found} image file(s) found ({', '.join(INPUT_SUFFIXES)}), {len(report.skipped)} skipped"
        print_error(f"no usable input: {found}")
        raise typer.Exit(1)
    print_predictions(report, report.skipped, output, console)


def evaluate(
    model: Annotated[
        Path, typer.Argument(help="A .keras model, e.g. from hpo model export.", metavar="MODEL", show_default=False)
    ],
    data: Annotated[
        str,
        typer.Option(help="synthetic[:COUNT], folder:PATH, mdai-export:PATH or mdai:PROJECT.", show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for per-image.csv and worst.png.", show_default=False)],
    label_id: LabelIdOption = None,
    keep_unannotated: KeepUnannotatedOption = False,
    mdai_domain: MdaiDomainOption = DEFAULT_MDAI_DOMAIN,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Probability counted as lung.")] = 0.5,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Score a model on any data source: DICE, IoU and pixel accuracy per image at native resolution.

    Example: [bold]hpo evaluate best.keras --data folder:data/montgomery --out eval/[/]
    """
    from hpo.results.evaluate import evaluate_model
    from objectives.data import parse_source

    with clear_errors():
        source = parse_source(data, tuple(label_id or ()), keep_unannotated=keep_unannotated, mdai_domain=mdai_domain)
        result = evaluate_model(model, source, out, threshold)
    print_record(asdict(result), output, console, title=f"{model.name} on {result.source}")
