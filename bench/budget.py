"""What a time budget buys on this machine: a default study given ``--time-budget``, start to final score.

It runs what a user runs, through the same functions as the CLI::

    hpo study create lungs --data folder:../shared/data/shenzhen-256 --time-budget 1h
    hpo worker lungs

that is the default space, sampler and pruner, one worker, and the final score (the best
configuration retrained with ``--final-seeds`` seeds, scored on the locked test images at native
resolution) once the budget is spent. The table gives the trials (completed, pruned, and those a
time limit stopped early), their epochs, the minutes of search and of final scoring, the best
validation DICE and the final test DICE.

Run: ``python -m bench.budget [--time-budget 1h] [--final-seeds 3] [--data SOURCE] [--space FILE]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.common import machine, publish, quiet_optuna
from bench.real_data import DEFAULT_DATA
from hpo.study.budget import format_duration, parse_duration
from hpo.study.defaults import DEFAULT_FINAL_SEEDS, TRIALS_PER_TIME_BUDGET
from hpo.study.finalize import load_final_score
from hpo.study.presets import StudyRequest
from hpo.study.run import create_requested_study, open_study
from hpo.study.time_limit import STOPPED_BY
from hpo.study.workers import run_worker

__all__ = ["budget_row", "main"]


def budget_row(storage: str, name: str, total_s: float) -> dict[str, Any]:
    """The table's row for a finished study: what its trials did and what its final score says.

    Args:
        total_s: the worker's wall time, search and final score; the search is the span of the
            trials' own timestamps, the final score the rest.
    """
    study = open_study(storage, name).study
    trials = [trial for trial in study.trials if trial.state.is_finished()]
    starts = [trial.datetime_start for trial in trials if trial.datetime_start is not None]
    ends = [trial.datetime_complete for trial in trials if trial.datetime_complete is not None]
    search_s = (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0
    states = [trial.state.name for trial in trials]
    score = load_final_score(study)
    low, high = score.dice_ci95 if score is not None else (None, None)
    return {
        "trials": len(trials),
        "completed": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "stopped by a time limit": sum(STOPPED_BY in trial.user_attrs for trial in trials),
        "epochs": sum(len(trial.intermediate_values) for trial in trials),
        "search min": search_s / 60,
        "final score min": (total_s - search_s) / 60,
        "best val DICE": max(
            (t.value for t in trials if t.state.name == "COMPLETE" and t.value is not None), default=None
        ),
        "test DICE (native)": score.dice if score is not None else None,
        "test DICE sd over seeds": score.dice_sd if score is not None else None,
        "test DICE 95% CI": f"{low:.3f} to {high:.3f}" if score is not None else None,
        "seeds": len(score.seeds) if score is not None else 0,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=f"folder:{DEFAULT_DATA}")
    parser.add_argument("--time-budget", default="1h", help="e.g. 30m, 1h, 1h30m")
    parser.add_argument("--final-seeds", type=int, default=DEFAULT_FINAL_SEEDS)
    parser.add_argument("--space", type=Path, default=None, help="a --space TOML file (default: the default space)")
    parser.add_argument("--seed", type=int, default=0, help="study seed (sampler, split, trials)")
    arguments = parser.parse_args(argv)
    quiet_optuna()
    budget_s = parse_duration(arguments.time_budget)
    request = StudyRequest(data=arguments.data, space_file=arguments.space, seed=arguments.seed,
                           final_seeds=arguments.final_seeds, time_budget_s=budget_s)  # fmt: skip
    progress = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="lung-hpo-budget-") as folder:
        storage = f"sqlite:///{folder}/budget.db"
        progress.print(create_requested_study(storage, "budget", request, warn=progress.print))
        started = time.perf_counter()
        run_worker("budget", storage, Path(folder) / "artifacts", timeout=None, console=progress,
                   results=progress)  # fmt: skip
        total = time.perf_counter() - started
        row = {"budget": format_duration(budget_s), **budget_row(storage, "budget", total)}
    info = machine()
    info.update({"data": arguments.data, "space": str(arguments.space or "default"), "study seed": arguments.seed})
    publish(
        "budget",
        f"A default study with --time-budget {format_duration(budget_s)}, start to final score, on this machine",
        [row],
        notes=[
            "One worker; the search ends when the time left is shorter than the study's median trial, and no "
            f"trial trains for more than 1/{TRIALS_PER_TIME_BUDGET} of the budget; the final score retrains the "
            f"best configuration {arguments.final_seeds} times after that."
        ],
        meta=info,
    )


if __name__ == "__main__":
    main()
