"""Samplers and pruners rebuilt from their names, the way the study spec stores them."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from objectives.space import SearchSpace

if TYPE_CHECKING:
    import optuna

__all__ = ["build_pruner", "build_sampler"]


def build_sampler(name: str, seed: int | None, space: SearchSpace) -> optuna.samplers.BaseSampler:
    """A sampler by name; ``seed`` differs between workers so they do not repeat each other."""
    import optuna

    if name == "tpe":
        # constant_liar keeps concurrent workers from sampling the same point; group handles the
        # augmentation parameters that exist only when augmentation is on. Both are experimental
        # in Optuna 5 and chosen on purpose, so users are not warned on every command.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=seed, multivariate=True, group=True, constant_liar=True, n_startup_trials=5
            )
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    raise ValueError(f"unknown sampler {name!r}")


def build_pruner(name: str) -> optuna.pruners.BasePruner:
    """A pruner by name; its step is the epoch, its value validation DICE."""
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if name == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=3)
    if name == "patient":
        return optuna.pruners.PatientPruner(
            optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1), patience=2
        )
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"unknown pruner {name!r}")
