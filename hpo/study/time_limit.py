"""A Keras callback that holds each trial of a time-budgeted study to its limits.

The limits themselves are plain arithmetic in `hpo.study.budget`; this module only measures the
epochs and stops training. A trial stopped this way completes with the best weights it reached
(early stopping restores them), and says why in its user attribute ``stopped_by``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hpo.study.budget import count_trials, trial_time_limit
from objectives.keras_setup import import_keras

if TYPE_CHECKING:
    import optuna

    from hpo.study.spec import StudySpec
    from objectives.config import TrainConfig
    from objectives.objective import KerasCallbackFactory
    from objectives.space import SearchSpace

__all__ = ["STOPPED_BY", "config_as_trained", "time_limited"]

STOPPED_BY = "stopped_by"  # trial user attribute: which time limit ended its training early


def time_limited(
    spec: StudySpec,
    inner: KerasCallbackFactory | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> KerasCallbackFactory | None:
    """``inner``'s callbacks plus, when the study has a time budget, one holding the trial to its limits.

    Args:
        spec: the study's spec; without a time budget, ``inner`` is returned as it is.
        inner: the caller's callbacks (progress, a benchmark's observers).
        clock: seconds, monotonic; tests pass their own.
    """
    if spec.time_budget_s is None:
        return inner

    def callbacks(trial: optuna.trial.Trial, max_epochs: int) -> Sequence[Any]:
        extra = list(inner(trial, max_epochs)) if inner is not None else []
        found = trial_time_limit(spec, count_trials(trial.study, spec))
        if found is None:
            return extra
        limit = found  # bound for the class below, where mypy cannot narrow ``found``
        keras = import_keras()

        class TimeLimit(keras.callbacks.Callback):  # type: ignore[name-defined]  # a module bound at run time
            begun = last = 0.0

            def on_train_begin(self, logs: Any = None) -> None:
                self.begun = self.last = clock()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                now = clock()
                reason = limit.stop_reason(now - self.begun, now - self.last)
                self.last = now
                if reason is not None and epoch + 1 < max_epochs:
                    self.model.stop_training = True
                    trial.set_user_attr(STOPPED_BY, reason)

        return [TimeLimit(), *extra]

    return callbacks


def config_as_trained(
    space: SearchSpace, params: Mapping[str, Any], attrs: Mapping[str, Any], seed: int
) -> TrainConfig:
    """The configuration a stored trial trained with, to train it again as the search did.

    A trial that a time limit stopped trained only the epochs it ran (``epochs_run``), not its
    ``max_epochs``: retraining it (the final score, ``hpo trial replay``) keeps to those, so on a
    slow machine the final score costs what the trial cost, not epochs it never had time for.
    """
    from objectives.space import config_from_params

    config = config_from_params(space, params, seed=seed)
    ran = attrs.get("epochs_run")
    if attrs.get(STOPPED_BY) is not None and isinstance(ran, int) and 0 < ran < config.max_epochs:
        return replace(config, max_epochs=ran)
    return config
