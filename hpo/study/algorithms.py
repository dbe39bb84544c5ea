"""Samplers and pruners by name: the one registry the study spec and the CLI's choices come from.

Optuna does not store samplers or pruners, so a study's spec keeps their names and every worker
rebuilds them here.
"""

from __future__ import annotations

import warnings
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

    from objectives.space import SearchSpace

__all__ = ["PrunerName", "SamplerName", "build_pruner", "build_sampler"]


class SamplerName(StrEnum):
    tpe = "tpe"
    gp = "gp"
    random = "random"
    cmaes = "cmaes"
    grid = "grid"


class PrunerName(StrEnum):
    median = "median"
    successive_halving = "successive-halving"
    hyperband = "hyperband"
    patient = "patient"
    none = "none"


def build_sampler(name: str, seed: int | None, space: SearchSpace) -> optuna.samplers.BaseSampler:
    """A sampler by name; ``seed`` differs between workers so they do not repeat each other."""
    import optuna

    match SamplerName(name):
        case SamplerName.tpe:
            # constant_liar keeps concurrent workers from sampling the same point; group handles
            # the augmentation parameters that exist only when augmentation is on. Both are
            # experimental in Optuna 5 and chosen on purpose, so users are not warned each time.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.samplers.TPESampler(
                    seed=seed, multivariate=True, group=True, constant_liar=True, n_startup_trials=5
                )
        case SamplerName.gp:
            return optuna.samplers.GPSampler(seed=seed)
        case SamplerName.random:
            return optuna.samplers.RandomSampler(seed=seed)
        case SamplerName.cmaes:
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        case SamplerName.grid:
            return optuna.samplers.GridSampler(space.grid(), seed=seed)


def build_pruner(name: str, warmup: int) -> optuna.pruners.BasePruner:
    """A pruner by name; its step is the 0-based epoch, its value validation DICE.

    No pruner judges a trial in its first ``warmup`` epochs (`SearchSpace.warmup_epochs`: the
    epochs that cover the space's ``warmup_steps`` optimizer steps), where early stopping does
    not look either: before them validation DICE does not yet rank trials as their end does
    (``bench.warmup``). The median pruners wait them out, then stop a trial whose DICE is below
    the median of the earlier trials at the same epoch. That is the default. Successive halving
    and Hyperband put their first rung at the first epoch after the warm-up (step ``warmup``, at
    least 1), then every third as many epochs, where a trial goes on only if it is among the best
    third of the trials that reached the rung: a harsher judge (``bench.search``).
    """
    import optuna

    if warmup < 0:
        raise ValueError(f"the warm-up cannot be negative, got {warmup} epochs")
    first_rung = max(1, warmup)  # a rung needs at least one epoch of resource

    match PrunerName(name):
        case PrunerName.median:
            return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup)
        case PrunerName.successive_halving:
            return optuna.pruners.SuccessiveHalvingPruner(min_resource=first_rung, reduction_factor=3)
        case PrunerName.hyperband:
            return optuna.pruners.HyperbandPruner(min_resource=first_rung, reduction_factor=3)
        case PrunerName.patient:
            return optuna.pruners.PatientPruner(
                optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup), patience=2
            )
        case PrunerName.none:
            return optuna.pruners.NopPruner()
