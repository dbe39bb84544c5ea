"""Search efficiency: the researchers' one-factor-at-a-time grid against a pruned TPE study.

Both run on real chest X-rays (``folder:../shared/data/shenzhen-256`` at 128 px) through the
real study machinery: the ``seed`` preset unpruned (baseline plus 9 variations), then a TPE
study with median pruning over the default space. For each: best validation DICE, total epochs
trained, wall time, and the epochs spent until a trial first came within 0.005 DICE of the
grid's best. ``--steps-per-epoch`` shrinks every epoch alike (the researchers used 100) so the
comparison fits a CPU; both studies use the same value.

The grid study's report (``hpo report``: the researchers' one-factor-at-a-time tables, on real
data) is written to ``bench/results/seed-report/``.

Run: ``python -m bench.search [--steps-per-epoch 10] [--tpe-trials 20]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna

from bench.common import RESULTS, machine, publish
from bench.real_data import DEFAULT_DATA
from hpo.report.build import report_study
from hpo.study.presets import PRESETS, PresetName, make_spec
from hpo.study.run import create_study, run_trials
from objectives.data import parse_source
from objectives.space import SearchSpace

TOLERANCE = 0.005


def _epochs(trial: optuna.trial.FrozenTrial) -> int:
    """Epochs a trial trained: all of them if it finished, up to its pruning otherwise."""
    return int(trial.user_attrs.get("epochs_run", len(trial.intermediate_values)))


def _summary(name: str, study: optuna.Study, seconds: float, target: float | None) -> dict[str, Any]:
    trials = [t for t in study.trials if t.state.is_finished()]
    completed = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
    best = max((t.value for t in completed), default=float("nan"))  # type: ignore[type-var]
    spent, reached = 0, None
    for trial in sorted(trials, key=lambda t: t.number):
        spent += _epochs(trial)
        if reached is None and target is not None and trial.value is not None and trial.value >= target - TOLERANCE:
            reached = spent
    return {
        "study": name,
        "trials": len(trials),
        "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in trials),
        "best DICE": best,
        "total epochs": sum(_epochs(t) for t in trials),
        "wall min": seconds / 60,
        "epochs to within 0.005 of grid best": reached if reached is not None else "never",
    }


def _run(storage: str, name: str, spec: Any) -> tuple[optuna.Study, float]:
    handle = create_study(
        storage, name, spec, enqueue=PRESETS[PresetName.seed].trials_to_enqueue() if name == "grid" else []
    )
    started = time.perf_counter()
    run_trials(handle)
    return handle.study, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=f"folder:{DEFAULT_DATA}")
    parser.add_argument("--steps-per-epoch", type=int, default=10)
    parser.add_argument("--tpe-trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    source = parse_source(arguments.data)
    steps = {"steps_per_epoch": arguments.steps_per_epoch}
    grid_space = PRESETS[PresetName.seed].space().with_overrides(steps)
    tpe_space = SearchSpace.default().with_overrides(steps)
    with tempfile.TemporaryDirectory(prefix="lung-hpo-search-") as folder:
        storage = f"sqlite:///{folder}/search.db"
        grid_spec, _ = make_spec(source, grid_space, sampler="random", pruner="none",
                              n_trials=len(PRESETS[PresetName.seed].seed_trials), seed=arguments.seed)  # fmt: skip
        grid, grid_seconds = _run(storage, "grid", grid_spec)
        report_study(storage, "grid", Path(folder) / "no-artifacts", RESULTS / "seed-report")
        tpe_spec, _ = make_spec(source, tpe_space, sampler="tpe", pruner="median", n_trials=arguments.tpe_trials,
                             seed=arguments.seed)  # fmt: skip
        tpe, tpe_seconds = _run(storage, "tpe", tpe_spec)
        grid_row = _summary("seed grid, unpruned", grid, grid_seconds, None)
        target = grid_row["best DICE"]
        grid_row = _summary("seed grid, unpruned", grid, grid_seconds, target)
        tpe_row = _summary("TPE + median pruning, default space", tpe, tpe_seconds, target)
    for row in (grid_row, tpe_row):
        row["epochs ratio to grid"] = row["total epochs"] / grid_row["total epochs"]
    info = machine()
    info.update({"data": str(source), "image_size": 128, "steps_per_epoch": arguments.steps_per_epoch})
    reached = tpe_row["epochs to within 0.005 of grid best"]
    verdict = (
        f"TPE came within {TOLERANCE} of the grid's best DICE after {reached} epochs "
        f"({reached / grid_row['total epochs']:.0%} of the grid's {grid_row['total epochs']})."
        if isinstance(reached, int)
        else f"TPE did not come within {TOLERANCE} of the grid's best DICE in {tpe_row['trials']} trials."
    )
    publish("search", "Search efficiency on real chest X-rays: seed grid vs pruned TPE", [grid_row, tpe_row],
            notes=[verdict], meta=info)  # fmt: skip


if __name__ == "__main__":
    main()
