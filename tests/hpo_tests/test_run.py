"""`hpo.study.run.run_trials` when another worker fails the trial it is training."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import optuna
from optuna.trial import TrialState

from hpo.study.presets import make_spec
from hpo.study.run import create_study, open_study, run_trials
from objectives.data import parse_source
from storage import open_storage
from tests.tiny import tiny_space


def test_a_trial_failed_elsewhere_while_it_trains_is_dropped_and_the_worker_goes_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spec, _ = make_spec(parse_source("synthetic:8"), tiny_space(), n_trials=1, final_seeds=0)
    create_study(url, "r", spec)
    other_worker = open_storage(url)  # what fails a trial whose heartbeat it finds stale

    class FailedElsewhere(keras.callbacks.Callback):
        """As if this process stalled past the grace period just as training began."""

        def __init__(self, trial: optuna.trial.Trial) -> None:
            super().__init__()
            self.trial = trial

        def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
            other_worker.set_trial_state_values(self.trial._trial_id, TrialState.FAIL)

    def callbacks(trial: optuna.trial.Trial, seed: int) -> Sequence[keras.callbacks.Callback]:
        return [FailedElsewhere(trial)] if trial.number == 0 else []

    taken: list[int] = []
    trained = run_trials(open_study(url, "r"), keras_callbacks=callbacks, on_taken_over=taken.append)

    assert taken == [0]
    # The budget of one finished trial is still to fill: the worker trains another and fills it.
    assert trained == 1
    states = [trial.state for trial in open_study(url, "r").study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.COMPLETE]
