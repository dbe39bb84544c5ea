"""Commands that train: ``hpo demo``, ``hpo worker`` and ``hpo trial replay``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hpo.cli.common import (
    ArtifactsOption,
    FinalSeedsOption,
    FormatOption,
    NameArgument,
    StorageOption,
    clear_errors,
    console,
    error_console,
    print_error,
    resolve_artifact_dir,
)
from hpo.cli.render import OutputFormat, print_record
from hpo.study.defaults import DEFAULT_FINAL_SEEDS
from hpo.study.gpus import DEFAULT_TRIALS_PER_GPU
from storage import DEFAULT_STORAGE_URL
from storage.factory import DEFAULT_GRACE_PERIOD, DEFAULT_HEARTBEAT_INTERVAL

__all__ = ["demo", "trial_app", "worker"]

DEFAULT_RECYCLE_AFTER = 10  # see hpo.study.workers: TensorFlow keeps ~50 MB per trained model

trial_app = typer.Typer(help="Work with single trials.", no_args_is_help=True)


def demo(
    storage: StorageOption = DEFAULT_STORAGE_URL,
    artifacts: ArtifactsOption = None,
    n_trials: Annotated[int | None, typer.Option("--n-trials", min=1, help="Trial budget (default: 12).")] = None,
    study: Annotated[str, typer.Option("--study", help="Study name.")] = "demo",
    seed: Annotated[int, typer.Option(help="Seed of the data split, sampler and trials.")] = 0,
    output: FormatOption = OutputFormat.table,
    final_seeds: FinalSeedsOption = DEFAULT_FINAL_SEEDS,
) -> None:
    """Run a small pruned study on synthetic chest X-rays, then score its best configuration on the locked test
    set; run it again to resume.

    Example: [bold]hpo demo --n-trials 6[/]
    """
    from hpo.results.studies import best_row
    from hpo.study.demo import run_demo
    from hpo.study.hints import dashboard_command, finalize_command

    artifact_dir = resolve_artifact_dir(storage, artifacts)
    with clear_errors():  # progress on stderr: stdout holds the result alone, so JSON parses
        handle = run_demo(
            storage, artifact_dir, error_console, study_name=study, n_trials=n_trials, seed=seed,
            final_seeds=final_seeds,
        )  # fmt: skip
    row = best_row(handle.study)
    if row is None:
        print_error("no trial completed")
        raise typer.Exit(1)
    print_record(row, output, console, title=f"Best trial of study {study!r}")
    if output is OutputFormat.table:
        console.print(f"Open the study in optuna-dashboard:\n  {dashboard_command(storage, artifact_dir)}")
        if row.get("test_dice") is None:
            console.print(f"Score its best configuration on the locked test set:\n  {finalize_command(study, storage)}")


def worker(
    name: NameArgument,
    storage: StorageOption = DEFAULT_STORAGE_URL,
    artifacts: ArtifactsOption = None,
    timeout: Annotated[float | None, typer.Option(min=1, help="Stop starting trials after this many seconds.")] = None,
    processes: Annotated[int, typer.Option(min=1, help="Worker processes on this machine (CPU).")] = 1,
    gpus: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated GPU ids, or 'all': worker processes on each GPU, each of which checks at start "
            "that its Keras backend sees that GPU (see the README's GPU install)."
        ),
    ] = None,
    trials_per_gpu: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="HPO_TRIALS_PER_GPU",
            help="With --gpus: worker processes per GPU, so trials trained on one GPU at a time.",
        ),
    ] = DEFAULT_TRIALS_PER_GPU,
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

    Example: [bold]hpo worker lungs --storage postgresql://hpo@db/hpo --gpus all[/]
    """
    from hpo.study.gpus import detect_gpus
    from hpo.study.supervisor import WorkerOptions, start_workers
    from hpo.study.workers import Heartbeat

    artifact_dir = resolve_artifact_dir(storage, artifacts)
    with clear_errors():
        if gpus is not None and gpus.strip() == "all":
            devices = tuple(detect_gpus())
        else:
            devices = tuple(gpu.strip() for gpu in (gpus or "").split(",") if gpu.strip())
        heartbeat = Heartbeat(heartbeat_interval, grace_period)
        options = WorkerOptions(
            timeout, processes, devices, trials_per_gpu, heartbeat, recycle_after, max_wait, in_process
        )
        code = start_workers(name, storage, artifact_dir, options, console, error_console)
    raise typer.Exit(code)


@trial_app.command("replay")
def replay(
    study: NameArgument,
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
    record: dict[str, Any] = {"study": study, "trial": number, "stored_dice": stored, **result.summary()}
    print_record(record, output, console, title=f"Replay of trial {number} of study {study!r}")
