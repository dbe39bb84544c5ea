"""The ``hpo`` command line. Each command parses options, calls one library function, prints.

Heavy modules (Keras, TensorFlow, mdai, Optuna's plotting) are imported inside the commands that
use them, so ``hpo --help`` answers at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from hpo.cli.common import (
    ArtifactsOption,
    FormatOption,
    StorageOption,
    clear_errors,
    console,
    error_console,
    print_warning,
    resolve_artifact_dir,
)
from hpo.cli.data import data_app
from hpo.cli.render import OutputFormat, best_trial_record, print_record
from hpo.cli.results import register_results_commands
from hpo.study.defaults import DEFAULT_MAX_SKIPPED
from storage import DEFAULT_STORAGE_URL
from storage.factory import DEFAULT_GRACE_PERIOD, DEFAULT_HEARTBEAT_INTERVAL

DEFAULT_RECYCLE_AFTER = 10  # see hpo.study.workers: TensorFlow keeps ~50 MB per trained model

__all__ = ["app", "main"]

app = typer.Typer(
    name="hpo",
    help="Tune a lung-segmentation U-Net on chest X-rays with Optuna.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold database passwords
    rich_markup_mode="rich",
)
study_app = typer.Typer(help="Create and inspect studies.", no_args_is_help=True)
trial_app = typer.Typer(help="Work with single trials.", no_args_is_help=True)
app.add_typer(study_app, name="study")
app.add_typer(trial_app, name="trial")
app.add_typer(data_app, name="data")
register_results_commands(app, study_app)


class Backend(StrEnum):
    tensorflow = "tensorflow"
    jax = "jax"
    torch = "torch"


class Sampler(StrEnum):
    tpe = "tpe"
    gp = "gp"
    random = "random"
    cmaes = "cmaes"
    grid = "grid"


class Pruner(StrEnum):
    median = "median"
    successive_halving = "successive-halving"
    hyperband = "hyperband"
    patient = "patient"
    none = "none"


class PresetName(StrEnum):
    demo = "demo"
    quick = "quick"
    full = "full"
    seed = "seed"


def _dashboard_command(storage_url: str, artifact_dir: Path) -> str:
    from storage import mask_url

    return f"optuna-dashboard '{mask_url(storage_url)}' --artifact-dir '{artifact_dir}'"


@app.callback()
def root(
    backend: Annotated[
        Backend | None,
        typer.Option("--backend", envvar="KERAS_BACKEND", help="Keras backend (default: tensorflow)."),
    ] = None,
) -> None:
    """Tune a lung-segmentation U-Net on chest X-rays with Optuna.

    Start with [bold]hpo demo[/]: a small study on synthetic chest X-rays, stored in ./hpo.db.
    """
    from objectives.keras_setup import configure_backend

    configure_backend(backend.value if backend else None)


@app.command()
def demo(
    storage: StorageOption = DEFAULT_STORAGE_URL,
    artifacts: ArtifactsOption = None,
    n_trials: Annotated[int | None, typer.Option("--n-trials", min=1, help="Trial budget (default: 12).")] = None,
    study: Annotated[str, typer.Option("--study", help="Study name.")] = "demo",
    seed: Annotated[int, typer.Option(help="Seed of the data split, sampler and trials.")] = 0,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Run a small pruned study on synthetic chest X-rays; run it again to resume.

    Example: [bold]hpo demo --n-trials 6[/]
    """
    from hpo.study.demo import run_demo

    artifact_dir = resolve_artifact_dir(storage, artifacts)
    with clear_errors():
        handle = run_demo(storage, artifact_dir, console, study_name=study, n_trials=n_trials, seed=seed)
    record = best_trial_record(handle.study)
    if record is None:
        error_console.print("No trial completed.")
        raise typer.Exit(1)
    print_record(record, output, console, title=f"Best trial of study {study!r}")
    if output is OutputFormat.table:
        console.print(f"Open the study in optuna-dashboard:\n  {_dashboard_command(storage, artifact_dir)}")


@study_app.command("create")
def study_create(
    name: Annotated[str, typer.Argument(help="Study name.")],
    storage: StorageOption = DEFAULT_STORAGE_URL,
    data: Annotated[str, typer.Option(help="synthetic[:COUNT], folder:PATH, mdai-export:PATH or mdai:PROJECT.")] = "",
    label_id: Annotated[list[str] | None, typer.Option("--label-id", help="MD.ai label id (repeatable).")] = None,
    keep_unannotated: Annotated[
        bool, typer.Option(help="MD.ai: keep images without a lung annotation, mask empty.")
    ] = False,
    mdai_domain: Annotated[str, typer.Option(envvar="MDAI_DOMAIN", help="MD.ai host for mdai: sources.")] = (
        "public.md.ai"
    ),
    space: Annotated[Path | None, typer.Option("--space", help="TOML file overriding the search space.")] = None,
    preset: Annotated[PresetName | None, typer.Option(help="Start from a named preset.")] = None,
    sampler: Annotated[Sampler | None, typer.Option(help="Sampler (default: tpe).")] = None,
    pruner: Annotated[Pruner | None, typer.Option(help="Pruner (default: median).")] = None,
    n_trials: Annotated[int | None, typer.Option("--n-trials", min=1, help="Study-wide trial budget.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split, sampler and trials.")] = 0,
    val_fraction: Annotated[float, typer.Option(min=0.01, max=0.9, help="Share of images held out.")] = 0.2,
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
) -> None:
    """Create a study whose workers need only its name and storage.

    Example: [bold]hpo study create lungs --data folder:data/shenzhen --n-trials 40[/]
    """
    from hpo.study.hints import worker_command
    from hpo.study.presets import PRESETS
    from hpo.study.run import StudyExistsError, create_study, make_spec
    from objectives.data import parse_source
    from objectives.space import BASELINE, SearchSpace
    from storage import mask_url

    chosen = PRESETS[preset.value] if preset else None
    with clear_errors():
        search_space = chosen.space() if chosen else SearchSpace.default()
        if space is not None:
            search_space = SearchSpace.from_toml(space, base=search_space)
        source = parse_source(
            data or (chosen.data if chosen else "synthetic"),
            tuple(label_id or ()),
            keep_unannotated=keep_unannotated,
            mdai_domain=mdai_domain,
        )
        spec, skipped = make_spec(
            source,
            search_space,
            sampler=sampler.value if sampler else chosen.sampler if chosen else "tpe",
            pruner=pruner.value if pruner else chosen.pruner if chosen else "median",
            n_trials=n_trials or (chosen.n_trials if chosen else 20),
            seed=seed,
            val_fraction=val_fraction,
            preset=preset.value if preset else "",
            max_skipped=max_skipped,
        )
        for entry in skipped:
            print_warning(f"skipped {entry.item}: {entry.reason}")
        enqueue = [(dict(BASELINE), {"factor": "baseline", "setting": "baseline"})] if enqueue_baseline else []
        if chosen is not None:
            enqueue += chosen.enqueue()
        try:
            create_study(storage, name, spec, enqueue=enqueue)
        except StudyExistsError as error:
            if not exist_ok:
                raise
            console.print(str(error))
            return
    console.print(
        f"Created study {name!r} in {mask_url(storage)}: {spec.data}, {len(spec.split.train)} training / "
        f"{len(spec.split.val)} validation images, {spec.sampler} sampler, {spec.pruner} pruner, "
        f"budget {spec.n_trials} trials.\nAttach workers with: {worker_command(name, storage)}"
    )


@app.command()
def worker(
    name: Annotated[str, typer.Argument(help="Study name.")],
    storage: StorageOption = DEFAULT_STORAGE_URL,
    artifacts: ArtifactsOption = None,
    timeout: Annotated[float | None, typer.Option(min=1, help="Stop starting trials after this many seconds.")] = None,
    processes: Annotated[int, typer.Option(min=1, help="Worker processes on this machine (CPU).")] = 1,
    gpus: Annotated[str | None, typer.Option(help="Comma-separated GPU ids: one worker process per GPU.")] = None,
    heartbeat_interval: Annotated[
        int, typer.Option(min=1, envvar="HPO_HEARTBEAT_INTERVAL", help="Seconds between heartbeats of a trial.")
    ] = DEFAULT_HEARTBEAT_INTERVAL,
    grace_period: Annotated[
        int, typer.Option(min=2, envvar="HPO_GRACE_PERIOD", help="Silent seconds before a trial is re-queued.")
    ] = DEFAULT_GRACE_PERIOD,
    recycle_after: Annotated[
        int,
        typer.Option(
            min=0,
            envvar="HPO_RECYCLE_AFTER",
            help="Trials per worker process before a fresh one takes over, releasing the memory TensorFlow "
            "keeps; 0 runs every trial in this process.",
        ),
    ] = DEFAULT_RECYCLE_AFTER,
    max_wait: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="When only trials that other workers are running stand between the study and its budget, "
            "leave after waiting this many seconds (they finish them). By default a worker waits until each "
            "such trial finishes or its heartbeat goes stale, so a dead worker's trial is re-run here: up to "
            "--grace-period seconds after that worker died.",
        ),
    ] = None,
    in_process: Annotated[
        bool, typer.Option(hidden=True, help="Run trials here (what the supervisor starts).")
    ] = False,
) -> None:
    """Attach to a study and run trials until its finished trials fill its budget.

    Example: [bold]hpo worker lungs --storage postgresql://hpo@db/hpo --gpus 0,1[/]
    """
    from hpo.study.run import budget_filled, open_study
    from hpo.study.workers import RECYCLE_EXIT_CODE, Heartbeat, WorkerStopped, run_worker, supervise_workers

    artifact_dir = resolve_artifact_dir(storage, artifacts)
    with clear_errors():
        heartbeat = Heartbeat(heartbeat_interval, grace_period)
        if in_process or (recycle_after == 0 and processes == 1 and gpus is None):
            try:
                outcome = run_worker(
                    name, storage, artifact_dir, timeout, console, heartbeat, recycle_after or None, max_wait
                )
            except WorkerStopped as stopped:
                error_console.print(str(stopped))
                stopped.exit_now()
            console.print(f"Worker finished: {outcome.trained} trial(s) run.")
            raise typer.Exit(RECYCLE_EXIT_CODE if outcome.recycle else 0)
        if budget_filled(open_study(storage, name)):  # also fails fast on a bad URL or study name
            console.print("Worker finished: 0 trial(s) run; the study's budget is already filled.")
            return
        devices = [gpu.strip() for gpu in gpus.split(",") if gpu.strip()] if gpus else [None] * processes
        code = supervise_workers(
            name, storage, artifact_dir, devices, timeout, error_console, heartbeat, recycle_after, max_wait
        )
    raise typer.Exit(code)


@trial_app.command("replay")
def trial_replay(
    study: Annotated[str, typer.Argument(help="Study name.")],
    number: Annotated[int, typer.Argument(help="Trial number.")],
    storage: StorageOption = DEFAULT_STORAGE_URL,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Retrain one trial from its stored parameters and seed, and print its metrics.

    Example: [bold]hpo trial replay demo 3[/]
    """
    from hpo.study.run import replay_trial

    with clear_errors():
        stored, result = replay_trial(storage, study, number)
    record: dict[str, Any] = {
        "study": study,
        "trial": number,
        "stored_dice": stored,
        **result.summary(),
    }
    print_record(record, output, console, title=f"Replay of trial {number} of study {study!r}")


@app.command()
def report(
    name: Annotated[str, typer.Argument(help="Study name.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html, report.md and its PNGs.")],
    storage: StorageOption = DEFAULT_STORAGE_URL,
    artifacts: ArtifactsOption = None,
) -> None:
    """Write a study's report as HTML and Markdown.

    Setup, results per parameter value, optimisation plots and the best and worst predictions; the
    HTML is one file that opens offline.

    Example: [bold]hpo report lungs --out reports/lungs[/]
    """
    from hpo.report.build import report_study

    with clear_errors():
        written = report_study(storage, name, resolve_artifact_dir(storage, artifacts), out)
    for path in written:
        console.print(str(path), soft_wrap=True, highlight=False)


def main(argv: list[str] | None = None) -> Callable[..., Any] | None:
    """Console-script entry point."""
    return app(args=argv if argv is not None else sys.argv[1:], prog_name="hpo")
