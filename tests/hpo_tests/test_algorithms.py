"""The pruners by name, on real Optuna studies: none judges a trial in the warm-up epochs."""

from __future__ import annotations

import optuna
import pytest

from hpo.study.algorithms import PrunerName, build_pruner

EPOCHS = 8
WARMUP_EPOCHS = 3


def _study(pruner: str) -> optuna.Study:
    """A study whose first four trials reached validation DICE 0.9 at every epoch."""
    study = optuna.create_study(direction="maximize", pruner=build_pruner(pruner, WARMUP_EPOCHS))
    for _ in range(4):
        trial = study.ask()
        for epoch in range(EPOCHS):
            trial.report(0.9, epoch)
            assert not trial.should_prune()
        study.tell(trial, 0.9)
    return study


def _verdicts(study: optuna.Study, dice: float) -> list[bool]:
    """should_prune after each epoch of a new trial that scores ``dice`` at every epoch."""
    trial = study.ask()
    verdicts = []
    for epoch in range(WARMUP_EPOCHS + 1):
        trial.report(dice, epoch)
        verdicts.append(trial.should_prune())
    return verdicts


@pytest.mark.parametrize("pruner", list(PrunerName))
def test_no_pruner_judges_a_trial_in_the_warm_up_epochs(pruner: str) -> None:
    verdicts = _verdicts(_study(pruner), dice=0.1)
    assert verdicts[:WARMUP_EPOCHS] == [False] * WARMUP_EPOCHS


@pytest.mark.parametrize("pruner", [PrunerName.median, PrunerName.successive_halving])
def test_a_trial_far_behind_is_pruned_at_the_first_epoch_after_the_warm_up(pruner: str) -> None:
    assert _verdicts(_study(pruner), dice=0.1) == [False] * WARMUP_EPOCHS + [True]


def test_successive_halving_lets_the_best_trial_through_its_first_rung() -> None:
    assert _verdicts(_study(PrunerName.successive_halving), dice=0.95) == [False] * (WARMUP_EPOCHS + 1)


def test_without_a_warm_up_the_median_pruner_judges_the_first_epoch() -> None:
    study = optuna.create_study(direction="maximize", pruner=build_pruner(PrunerName.median, 0))
    for _ in range(4):
        trial = study.ask()
        trial.report(0.9, 0)
        study.tell(trial, 0.9)
    trial = study.ask()
    trial.report(0.1, 0)
    assert trial.should_prune()


def test_a_negative_warm_up_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        build_pruner(PrunerName.median, -1)
