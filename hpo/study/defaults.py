"""A study's defaults, written once: what a study gets when neither a preset nor an option says.

Kept free of heavy imports: the CLI shows these values in ``--help``.
"""

from __future__ import annotations

from hpo.study.algorithms import PrunerName, SamplerName

__all__ = [
    "DEFAULT_DATA",
    "DEFAULT_FINAL_SEEDS",
    "DEFAULT_MAX_SKIPPED",
    "DEFAULT_N_TRIALS",
    "DEFAULT_PRUNER",
    "DEFAULT_SAMPLER",
    "DEFAULT_TEST_FRACTION",
    "DEFAULT_TIME_BUDGET_TRIALS",
    "DEFAULT_VAL_FRACTION",
    "TRIALS_PER_TIME_BUDGET",
]

DEFAULT_DATA = "synthetic"  # the phantom: runs anywhere, no download
DEFAULT_SAMPLER = SamplerName.tpe
DEFAULT_PRUNER = PrunerName.median  # below the median at an epoch after the warm-up: stopped (bench.search)
DEFAULT_N_TRIALS = 20  # study-wide budget of finished (complete or pruned) trials
DEFAULT_VAL_FRACTION = 0.2  # share of the images held out for validation (early stopping, pruning, ranking)
DEFAULT_TEST_FRACTION = 0.2  # share locked away for the final score; no part of the search sees it
DEFAULT_MAX_SKIPPED = 0.1  # share of a source's items that may be unusable before a study is refused
DEFAULT_FINAL_SEEDS = 3  # retrainings of the best configuration for the final score: enough to see the seed spread
DEFAULT_TIME_BUDGET_TRIALS = 1000  # the trial budget of a study given a time budget and no --n-trials: time decides
TRIALS_PER_TIME_BUDGET = 8  # a trial of a time-budgeted study trains for at most this share of the budget
