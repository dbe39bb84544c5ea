"""Search efficiency: the researchers' grid, the default study and random search, on one epoch budget.

All three arms run on real chest X-rays (``folder:../shared/data/shenzhen-256`` at 128 px, or ``--image-size``)
through the real study machinery, on the split a default study of that data gets, at one
fidelity (``--steps-per-epoch``, the researchers used 100; all arms alike):

- **grid**: the ``seed`` preset unpruned (baseline plus 9 one-factor variations);
- **default**: a study with the default sampler, pruner and space, given the grid's total
  number of training epochs (an epoch counter stops the last trial when they are spent);
- **random**: random search, unpruned, over the default space, with the same epoch budget;
- **previous**: the default study before successive halving became the default (TPE with the
  median pruner, ``max_epochs`` searched from 5 to 20, ``train_fraction`` 0.9 or 1.0, learning
  rates from 1e-4 as well), with the same epoch budget: the head-to-head that
  shows what the current default gained.

For each arm: the test DICE of its final pick (the best trial's configuration retrained with a
fresh seed, or the mean over ``--final-seeds`` of them, and scored on the locked test images at
native resolution, as `hpo study finalize` does), the pick's validation DICE, total epochs, wall
time, and the epochs spent until the arm's best-so-far trial first scored the grid's final test
DICE on the test images. That last figure scores each new best trial's own model on the test set
as it finishes; the study never reads it. The best of those scores over the arm's trials, also
never used to choose, shows how high the fidelity lets any trained model go: a target above it
cannot be met by a better search, only by a higher fidelity.

The grid study's report (``hpo report``: the researchers' one-factor-at-a-time tables, on real
data) is written to ``bench/results/seed-report/``.

Run: ``python -m bench.search [--steps-per-epoch 10] [--image-size 128] [--seed 0] [--final-seeds 1]
[--arms grid,default,random,previous]`` (the grid always runs: it sets the budget and the bar).
Study seed 0 writes ``search.json``, any other seed ``search-seedN.json``; `bench.search_seeds`
then sets the default arm's gain over the grid side by side for every seed run so far. The
arms ``tpe-median``, ``tpe-successive-halving``, ``tpe-hyperband``, ``tpe-patient`` and ``tpe-none``
run TPE over the default space with that pruner (or none), for choosing the default.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna

from bench.common import machine, publish, quiet_optuna, results_folder
from bench.real_data import DEFAULT_DATA
from bench.search_seeds import TARGET
from bench.search_seeds import main as tabulate_seeds
from bench.space import PREVIOUS_RANGES
from hpo.report.build import report_study
from hpo.study.algorithms import PrunerName
from hpo.study.defaults import DEFAULT_PRUNER, DEFAULT_SAMPLER
from hpo.study.finalize import finalize
from hpo.study.presets import PRESETS, PresetName, make_spec
from hpo.study.run import StudyHandle, create_study, run_trials
from objectives.data import load_native, parse_source
from objectives.evaluate import score_at_native_resolution
from objectives.keras_setup import import_keras
from objectives.objective import DataProvider
from objectives.space import SearchSpace
from objectives.training_model import network_of

_MANY = 10_000  # a trial budget the epoch budget always ends first
# The default space before cf92eea, where epochs and the share of training data were searched,
# with the ranges it had before bench.space narrowed them.
_PREVIOUS_SPACE = {"max_epochs": {"low": 5, "high": 20}, "train_fraction": [0.9, 1.0], **PREVIOUS_RANGES}
DEFAULT_ARMS = ("grid", "default", "random", "previous")
# TPE over the default space with each pruner in turn ("tpe-none": unpruned), for choosing the default.
PRUNER_ARMS = tuple(f"tpe-{pruner}" for pruner in PrunerName)
ARMS = (*DEFAULT_ARMS, *PRUNER_ARMS)


def _epochs(trial: optuna.trial.FrozenTrial) -> int:
    """Epochs a trial trained: all of them if it finished, up to its pruning otherwise."""
    return int(trial.user_attrs.get("epochs_run", len(trial.intermediate_values)))


def _spent(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The trials whose epochs count against an arm's budget, in order: every one that ended.

    Wider than `hpo.results.records.FINISHED` (complete or pruned), on purpose: a failed trial
    trained for its epochs too, and an epoch budget counts the training done, not its outcome.
    """
    return sorted((t for t in study.trials if t.state.is_finished()), key=lambda t: t.number)


class _Observer:
    """Keras callbacks for each trial: one stops training when the arm's epochs are spent, one
    scores the trained model on the test images (for the bench's curve only)."""

    def __init__(self, provider: DataProvider, test: Sequence[int], truths: list[Any], budget: int | None) -> None:
        self.provider, self.test, self.truths, self.budget = provider, list(test), truths, budget
        self.spent = 0  # epochs of the arm's finished trials
        self.test_dice: dict[int, float] = {}  # trial number -> its own model's test DICE

    def __call__(self, trial: optuna.trial.Trial, max_epochs: int) -> list[Any]:
        keras = import_keras()
        observer, number = self, trial.number

        class _Watch(keras.callbacks.Callback):  # type: ignore[name-defined]  # a module bound at run time
            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                if observer.budget is not None and observer.spent + epoch + 1 >= observer.budget:
                    self.model.stop_training = True

            def on_train_end(self, logs: Any = None) -> None:  # after early stopping restored its best weights
                unet = network_of(self.model)
                images = observer.provider.dataset(unet.input_shape[1]).images[observer.test]
                scores = score_at_native_resolution(unet.predict(images, verbose=0), observer.truths)
                observer.test_dice[number] = float(scores.dice.mean())

        return [_Watch()]

    def left(self) -> bool:
        return self.budget is None or self.spent < self.budget


def _run_arm(handle: StudyHandle, observer: _Observer) -> float:
    started = time.perf_counter()
    while observer.left():
        if run_trials(handle, keras_callbacks=observer, max_trials=1) == 0:
            break  # the trial budget is spent (the grid)
        observer.spent = sum(_epochs(t) for t in _spent(handle.study))
    return time.perf_counter() - started


def _summary(
    arm: str, handle: StudyHandle, observer: _Observer, seconds: float, target: float | None, final_seeds: int
) -> dict[str, Any]:
    """The arm's row; ``target`` (the grid's final test DICE) defaults to the arm's own."""
    trials = _spent(handle.study)
    score = finalize(handle, seeds=final_seeds)
    target = score.dice if target is None else target
    spent, best_value, reached = 0, float("-inf"), None
    for trial in trials:
        spent += _epochs(trial)
        if trial.value is not None and trial.state == optuna.trial.TrialState.COMPLETE and trial.value > best_value:
            best_value = trial.value
            own = observer.test_dice.get(trial.number, float("nan"))
            if reached is None and own >= target:
                reached = spent
    return {
        "arm": arm,
        "trials": len(trials),
        "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in trials),
        "total epochs": spent,
        "wall min": seconds / 60,
        "pick": f"#{score.trial}",
        "pick val DICE": score.validation_dice,
        "pick test DICE (native)": score.dice,
        "sd over seeds": score.dice_sd,
        "95% CI over images": f"{score.dice_ci95[0]:.3f} to {score.dice_ci95[1]:.3f}",
        "epochs to grid's test DICE": reached if reached is not None else "never",
        # Chosen by nothing (the test images never steer a search): how high this fidelity lets
        # any of the arm's trained models score, so a missed target can be told from an unreachable one.
        "best test DICE of any trial": max(observer.test_dice.values(), default=float("nan")),
    }


def _against_grid(row: dict[str, Any], grid: dict[str, Any], held_to_target: bool) -> str:
    """One arm's gain over the grid, in words; ``held_to_target``: say whether it gains the `TARGET`."""
    gain = row["pick test DICE (native)"] - grid["pick test DICE (native)"]
    target = f" ({'meets' if gain >= TARGET else 'misses'} the +{TARGET} target)" if held_to_target else ""
    return (
        f"{row['arm']}: its final pick scored {gain:+.4f} test DICE against the grid's{target}, "
        f"in {row['total epochs']} epochs against the grid's {grid['total epochs']}."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=f"folder:{DEFAULT_DATA}")
    parser.add_argument("--steps-per-epoch", type=int, default=10)
    parser.add_argument("--image-size", type=int, default=128, help="the side every arm trains at (a multiple of 16)")
    parser.add_argument("--seed", type=int, default=0, help="study seed (sampler, split, trials)")
    parser.add_argument("--final-seeds", type=int, default=1, help="retrainings of each arm's pick for its test DICE")
    parser.add_argument("--arms", default=",".join(DEFAULT_ARMS), help=f"comma-separated, from {', '.join(ARMS)}")
    arguments = parser.parse_args(argv)
    quiet_optuna()
    chosen = {"grid", *(arm.strip() for arm in arguments.arms.split(",") if arm.strip())}
    if unknown := chosen - set(ARMS):
        parser.error(f"--arms: unknown {', '.join(sorted(unknown))}; expected some of {', '.join(ARMS)}")
    source = parse_source(arguments.data)
    fidelity = {"steps_per_epoch": arguments.steps_per_epoch, "image_size": arguments.image_size}  # every arm alike
    seed_preset = PRESETS[PresetName.seed]
    default_space = SearchSpace.default().with_overrides(fidelity)
    previous_space = default_space.with_overrides(_PREVIOUS_SPACE)
    every_arm = {
        "grid": ("grid (seed preset, unpruned)", seed_preset.space().with_overrides(fidelity), "random", "none"),
        "default": (f"default ({DEFAULT_SAMPLER} + {DEFAULT_PRUNER} pruning)", default_space, DEFAULT_SAMPLER,
                    DEFAULT_PRUNER),
        "random": ("random, unpruned", default_space, "random", "none"),
        "previous": ("previous default (tpe + median pruning, epochs searched)", previous_space, "tpe", "median"),
        **{f"tpe-{pruner}": (f"tpe + {pruner} pruning" if pruner != PrunerName.none else "tpe, unpruned",
                             default_space, "tpe", pruner.value) for pruner in PrunerName},
    }  # fmt: skip
    keys = [key for key in ARMS if key in chosen]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="lung-hpo-search-") as folder:
        storage = f"sqlite:///{folder}/search.db"
        budget: int | None = None
        target: float | None = None
        for index, (arm, space, sampler, pruner) in enumerate(every_arm[key] for key in keys):
            n_trials = len(seed_preset.seed_trials) if budget is None else _MANY
            spec, _ = make_spec(source, space, sampler=sampler, pruner=pruner, n_trials=n_trials,
                                seed=arguments.seed, final_seeds=0)  # fmt: skip
            enqueue = seed_preset.trials_to_enqueue() if budget is None else []
            handle = create_study(storage, f"arm-{index}", spec, enqueue=enqueue)
            provider = DataProvider(source, spec.split)
            truths = [item.mask for item in load_native(source, spec.split.test, image_size=arguments.image_size)]
            observer = _Observer(provider, spec.split.test, truths, budget)
            seconds = _run_arm(handle, observer)
            rows.append(_summary(arm, handle, observer, seconds, target, arguments.final_seeds))
            if budget is None:  # the grid sets the budget and the bar for the other arms
                report = results_folder() / "seed-report"
                report_study(storage, handle.study.study_name, Path(folder) / "no-artifacts", report)
                budget, target = rows[0]["total epochs"], rows[0]["pick test DICE (native)"]
    notes = [_against_grid(row, rows[0], key == "default") for key, row in zip(keys[1:], rows[1:], strict=True)]
    info = machine()
    info.update({"data": str(source), "image_size": arguments.image_size, "steps_per_epoch": arguments.steps_per_epoch,
                 "study seed": arguments.seed, "final seeds": arguments.final_seeds})  # fmt: skip
    publish(
        "search" if arguments.seed == 0 else f"search-seed{arguments.seed}",  # one file per study seed
        "Search efficiency on real chest X-rays: the seed grid against searches given its epochs",
        rows,
        notes=notes,
        meta=info,
    )
    tabulate_seeds()  # this seed beside the others


if __name__ == "__main__":
    main()
