"""``hpo study``: create a study, then list, show, rank and export what its workers did."""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hpo.cli.common import (
    DEFAULT_MDAI_DOMAIN,
    FinalSeedsOption,
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
)
from hpo.cli.render import OutputFormat, print_record, print_studies, print_trials
from hpo.study.algorithms import PrunerName, SamplerName
from hpo.study.defaults import (
    DEFAULT_FINAL_SEEDS,
    DEFAULT_MAX_SKIPPED,
    DEFAULT_PRUNER,
    DEFAULT_SAMPLER,
    DEFAULT_TEST_FRACTION,
    DEFAULT_VAL_FRACTION,
    TRIALS_PER_TIME_BUDGET,
)
from hpo.study.presets import PresetName
from storage import DEFAULT_STORAGE_URL

__all__ = ["study_app"]

study_app = typer.Typer(help="Create and inspect studies.", no_args_is_help=True)


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


@study_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Study name.")],
    storage: StorageOption = DEFAULT_STORAGE_URL,
    data: Annotated[
        str | None, typer.Option(help="synthetic[:COUNT], folder:PATH, mdai-export:PATH or mdai:PROJECT.")
    ] = None,
    label_id: LabelIdOption = None,
    keep_unannotated: KeepUnannotatedOption = False,
    mdai_domain: MdaiDomainOption = DEFAULT_MDAI_DOMAIN,
    space: Annotated[Path | None, typer.Option("--space", help="TOML file overriding the search space.")] = None,
    preset: Annotated[PresetName | None, typer.Option(help="Start from a named preset.")] = None,
    sampler: Annotated[SamplerName | None, typer.Option(help=f"Sampler (default: {DEFAULT_SAMPLER}).")] = None,
    pruner: Annotated[PrunerName | None, typer.Option(help=f"Pruner (default: {DEFAULT_PRUNER}).")] = None,
    n_trials: Annotated[int | None, typer.Option("--n-trials", min=1, help="Study-wide trial budget.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split, sampler and trials.")] = 0,
    val_fraction: Annotated[
        float, typer.Option(min=0.01, max=0.9, help="Share of images held out.")
    ] = DEFAULT_VAL_FRACTION,
    test_fraction: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.8,
            help="Share of images locked away for the final score: no trial trains, stops early, is pruned or is "
            "ranked on them. 0 leaves none, and the study's scores are then optimistic.",
        ),
    ] = DEFAULT_TEST_FRACTION,
    enqueue_baseline: Annotated[bool, typer.Option(help="Run the researchers' baseline first.")] = False,
    exist_ok: Annotated[bool, typer.Option(help="An existing study of that name is fine (exit 0, unchanged).")] = False,
    max_skipped: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Largest share of the data source's items that may be unusable (listed on stderr); "
            "above it the study is not created.",
        ),
    ] = DEFAULT_MAX_SKIPPED,
    final_seeds: FinalSeedsOption = DEFAULT_FINAL_SEEDS,
    time_budget: Annotated[
        str | None,
        typer.Option(
            help="Wall-clock budget, e.g. 45m, 2h or 1h30m, from the first trial's start: workers start no "
            f"trial that would not finish within it, and no trial trains past it or past 1/{TRIALS_PER_TIME_BUDGET} "
            "of it. "
            "Without --n-trials, time alone ends the study.",
        ),
    ] = None,
) -> None:
    """Create a study whose workers need only its name and storage.

    Example: [bold]hpo study create lungs --data folder:data/shenzhen --n-trials 40[/]
    """
    from hpo.study.budget import parse_duration
    from hpo.study.presets import StudyRequest
    from hpo.study.run import create_requested_study

    with clear_errors():
        request = StudyRequest(
            preset, data, space, sampler, pruner, n_trials, seed, val_fraction, test_fraction,
            tuple(label_id or ()), keep_unannotated, mdai_domain, enqueue_baseline, max_skipped, final_seeds,
            parse_duration(time_budget) if time_budget else None,
        )  # fmt: skip
        message = create_requested_study(storage, name, request, exist_ok=exist_ok, warn=print_warning)
    console.print(message)


@study_app.command("list")
def list_studies(storage: StorageOption = DEFAULT_STORAGE_URL, output: FormatOption = OutputFormat.table) -> None:
    """List the studies in the storage: progress against budget, best DICE, sampler, pruner, data.

    Example: [bold]hpo study list --storage sqlite:///runs/lung.db[/]
    """
    from hpo.results.studies import study_rows

    with clear_errors():
        rows = study_rows(storage)
    print_studies(rows, output, console)


@study_app.command("show")
def show(
    name: NameArgument, storage: StorageOption = DEFAULT_STORAGE_URL, output: FormatOption = OutputFormat.table
) -> None:
    """Show a study's trials: state, parameters, DICE, accuracies, wall time, where pruned, why failed.

    Example: [bold]hpo study show lungs --format json[/]
    """
    from hpo.results.records import records_of
    from hpo.results.studies import read_study

    with clear_errors():
        rows = [record.row() for record in records_of(read_study(storage, name))]
    print_trials(rows, output, console, f"Trials of study {name!r}")


@study_app.command("best")
def best(
    name: NameArgument, storage: StorageOption = DEFAULT_STORAGE_URL, output: FormatOption = OutputFormat.table
) -> None:
    """Show the study's best completed trial: DICE, metrics and parameters.

    Example: [bold]hpo study best lungs[/]
    """
    from hpo.results.studies import best_row, read_study

    with clear_errors():
        row = best_row(read_study(storage, name))
    if row is None:
        print_error(f"study {name!r} has no completed trial yet")
        raise typer.Exit(1)
    print_record(row, output, console, title=f"Best trial of study {name!r}")


@study_app.command("finalize")
def finalize(
    name: NameArgument,
    storage: StorageOption = DEFAULT_STORAGE_URL,
    seeds: Annotated[
        int, typer.Option(min=1, help="Retrainings of the best configuration, each with a fresh seed.")
    ] = DEFAULT_FINAL_SEEDS,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Retrain the best configuration and score it once on the locked test set, at native resolution.

    Example: [bold]hpo study finalize lungs --seeds 3[/]
    """
    from hpo.study.finalize import finalize as finalize_study
    from hpo.study.run import open_study

    def progress(seed: int, dice: float) -> None:
        error_console.print(f"seed {seed}: test DICE {dice:.4f}")

    with clear_errors():
        score = finalize_study(open_study(storage, name), seeds, on_seed=progress)
    print_record({"study": name, **asdict(score)}, output, console, title=f"Final score of study {name!r}")


@study_app.command("export")
def export(
    name: NameArgument,
    storage: StorageOption = DEFAULT_STORAGE_URL,
    export_format: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = ExportFormat.csv,
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
) -> None:
    """Export every trial of a study, one row or object per trial, parameters as param_<name>.

    Example: [bold]hpo study export lungs --format csv --out lungs.csv[/]
    """
    from hpo.results.export import export_trials

    with clear_errors():
        exported = export_trials(storage, name, export_format.value)
        if out is not None:
            exported.write(out)
    if out is None:
        typer.echo(exported.text, nl=False)
    else:
        error_console.print(f"Wrote {exported.count} trials of study {name!r} to {out}.")
