"""``hpo data``: look at a data source before spending hours of study on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hpo.cli.common import (
    DEFAULT_MDAI_DOMAIN,
    KeepUnannotatedOption,
    LabelIdOption,
    MdaiDomainOption,
    console,
    error_console,
    print_error,
)
from hpo.cli.render import OutputFormat, show_table

if TYPE_CHECKING:
    from objectives.data import DatasetReport

__all__ = ["data_app"]

_MAX_SKIPPED_ROWS = 50  # a longer table scrolls the summary away

data_app = typer.Typer(
    help="Check data sources: what loads, what is skipped and why.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@data_app.command()
def inspect(
    source: Annotated[
        str,
        typer.Argument(
            help="synthetic[:COUNT], folder:PATH, mdai-export:PATH or mdai:PROJECT_ID "
            "(mdai: reads the token from MDAI_TOKEN).",
            metavar="SOURCE",
            show_default=False,
        ),
    ],
    image_size: Annotated[int, typer.Option(min=4, help="Side of the square images.")] = 128,
    label_id: LabelIdOption = None,
    keep_unannotated: KeepUnannotatedOption = False,
    preview: Annotated[Path | None, typer.Option(help="Write a PNG grid of images with their masks here.")] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Print a table or one JSON object.")
    ] = OutputFormat.table,
    mdai_domain: MdaiDomainOption = DEFAULT_MDAI_DOMAIN,
) -> None:
    """Load SOURCE and report images, original sizes, lung fractions and skipped files.

    Example: [bold]hpo data inspect folder:data/shenzhen --preview preview.png[/]
    """
    from objectives.data import DataSourceError, inspect_dataset, load_dataset, parse_source
    from objectives.data import write_preview as save_preview
    from objectives.data.sources import load_file_source, open_file_source

    try:
        data_source = parse_source(source, tuple(label_id or ()))
    except DataSourceError as error:
        raise typer.BadParameter(str(error), param_hint="SOURCE") from None
    try:
        labels: tuple[str, ...] = ()
        if data_source.kind == "synthetic":
            dataset = load_dataset(data_source, image_size)
        else:  # opened once: an mdai: source asks MD.ai for its export each time it is opened
            opened = open_file_source(data_source, keep_unannotated=keep_unannotated, mdai_domain=mdai_domain)
            dataset = load_file_source(opened, data_source.kind, image_size)
            labels = opened.lung_labels()  # which MD.ai labels were taken as lung; none for a folder
        if preview is not None:
            save_preview(dataset, preview)
    except (DataSourceError, OSError) as error:
        print_error(str(error))
        raise typer.Exit(1) from None
    report = inspect_dataset(dataset)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps({"source": str(data_source), "lung_labels": list(labels), **report.to_dict()}))
    else:
        _print_table(str(data_source), report, preview, labels)


def _print_table(source: str, report: DatasetReport, preview: Path | None, labels: tuple[str, ...]) -> None:
    """The report as two tables: the source's summary, then what was skipped and why."""
    rows = [("lung labels", ", ".join(labels))] if labels else []
    rows += [("images", str(report.count)), ("image size", f"{report.image_size} x {report.image_size}")]
    sizes = ", ".join(f"{w}x{h} ({n})" for (h, w), n in report.original_sizes[:5])
    more = len(report.original_sizes) - 5
    rows.append(("original sizes (w x h)", sizes + (f", +{more} more" if more > 0 else "")))
    if report.lung_fraction is not None:
        stats = report.lung_fraction
        rows.append(
            (
                "lung fraction",
                f"min {stats.min:.1%}  median {stats.median:.1%}  mean {stats.mean:.1%}  max {stats.max:.1%}",
            )
        )
    rows += [("empty masks", str(report.empty_masks)), ("skipped", str(len(report.skipped)))]
    if preview is not None:
        rows.append(("preview", str(preview)))
    show_table(console, f"Data source {source}", ("property", "value"), rows, wide=("value",))
    if report.skipped:
        shown = [(entry.item, entry.reason) for entry in report.skipped[:_MAX_SKIPPED_ROWS]]
        show_table(console, "Skipped", ("item", "reason"), shown, wide=("item", "reason"))
        hidden = len(report.skipped) - _MAX_SKIPPED_ROWS
        if hidden > 0:
            error_console.print(f"... and {hidden} more; --format json lists them all.")
