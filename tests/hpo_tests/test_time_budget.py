"""Time budgets: parsing ``--time-budget``, and a study that stops starting trials when time is spent."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from hpo.cli import app
from hpo.study.budget import (
    TrialTimeLimit,
    count_trials,
    format_duration,
    parse_duration,
    trial_time_limit,
)
from hpo.study.defaults import TRIALS_PER_TIME_BUDGET
from hpo.study.presets import make_spec
from hpo.study.run import create_study, open_study, replay_trial, run_trials, study_over
from hpo.study.spec import StudySpec
from hpo.study.time_limit import STOPPED_BY, config_as_trained, time_limited
from objectives.data import parse_source
from objectives.objective import DataProvider, LungObjective
from tests.tiny import TINY_SPACE, tiny_space, write_tiny_space

runner = CliRunner()
START = datetime(2026, 1, 1, 12, 0, 0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("45m", 2700.0), ("2h", 7200.0), ("1h30m", 5400.0), ("1.5h", 5400.0),
     (" 2H ", 7200.0), ("1d", 86400.0), ("0.5", 0.5)],
)  # fmt: skip
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "2 hours", "h", "-1h", "0", "0m", "1h30", "1x"])
def test_bad_durations_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize("seconds", [1, 59, 60, 90, 3600, 5400, 7322])
def test_formatted_durations_read_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def _spec(n_trials: int, time_budget_s: float | None) -> StudySpec:
    spec, _ = make_spec(
        parse_source("synthetic:8"), tiny_space(), n_trials=n_trials, time_budget_s=time_budget_s, final_seeds=0
    )
    return spec


def _finished_trial(start_minute: float, minutes: float) -> optuna.trial.FrozenTrial:
    begun = START + timedelta(minutes=start_minute)
    return optuna.trial.FrozenTrial(
        number=0, trial_id=0, state=optuna.trial.TrialState.COMPLETE, value=0.5, values=None,
        datetime_start=begun, datetime_complete=begun + timedelta(minutes=minutes), params={}, distributions={},
        user_attrs={}, system_attrs={}, intermediate_values={},
    )  # fmt: skip


def test_time_counts_from_the_first_trial_and_leaves_room_for_a_typical_one() -> None:
    spec = _spec(100, time_budget_s=3600)
    study = optuna.create_study(direction="maximize")
    fresh = count_trials(study, spec, now=START)
    assert (fresh.time_left_s, fresh.room, fresh.done) == (3600, True, False)  # no trial yet: the clock waits
    for begun, minutes in ((0, 10), (10, 20), (30, 10)):  # median length 10 minutes
        study.add_trial(_finished_trial(begun, minutes))
    at_45 = count_trials(study, spec, now=START + timedelta(minutes=45))
    assert at_45.typical_trial_s == 600 and at_45.time_left_s == 900
    assert at_45.room and not at_45.done
    at_51 = count_trials(study, spec, now=START + timedelta(minutes=51))  # 9 minutes left: a trial would not fit
    assert at_51.out_of_time and at_51.done and not at_51.room
    no_budget = count_trials(study, _spec(100, None), now=START + timedelta(days=9))
    assert no_budget.time_left_s is None and not no_budget.done


def test_a_spent_time_budget_ends_the_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    # The first trial always starts; no epoch lasts less than a millisecond, so its first one
    # spends the budget: training stops there, and no trial follows it.
    create_study(url, "t", _spec(1000, time_budget_s=0.001))
    handle = open_study(url, "t")
    assert run_trials(handle) == 1
    (trial,) = handle.study.get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.user_attrs["epochs_run"] == 1 and TINY_SPACE["max_epochs"] == 2
    assert trial.user_attrs[STOPPED_BY] == "study time budget"
    assert study_over(handle)
    assert run_trials(open_study(url, "t")) == 0


@pytest.mark.parametrize(
    ("elapsed", "epoch", "reason"),
    [(100, 100, None), (300, 100, None), (350, 100, None), (360, 100, "trial time share"),
     (10, 500, "study time budget"), (440, 70, "study time budget")],
)  # fmt: skip
def test_a_trial_stops_before_an_epoch_would_pass_its_share_or_the_study_budget(
    elapsed: float, epoch: float, reason: str | None
) -> None:
    limit = TrialTimeLimit(share_s=450, study_left_s=500)
    assert limit.stop_reason(elapsed, epoch) == reason


def test_a_trial_gets_an_eighth_of_the_budget_and_the_time_the_study_has_left() -> None:
    study = optuna.create_study(direction="maximize")
    study.add_trial(_finished_trial(0, 10))
    counts = count_trials(study, _spec(100, time_budget_s=3600), now=START + timedelta(minutes=20))
    assert trial_time_limit(_spec(100, 3600), counts) == TrialTimeLimit(share_s=3600 / TRIALS_PER_TIME_BUDGET,
                                                                        study_left_s=2400)  # fmt: skip
    assert trial_time_limit(_spec(100, None), count_trials(study, _spec(100, None))) is None


@pytest.mark.slow
def test_training_stops_when_the_next_epoch_would_pass_the_trials_share(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    space = tiny_space().with_overrides({"max_epochs": 8, "patience": 50})  # no early stopping
    spec, _ = make_spec(parse_source("synthetic:8"), space, n_trials=10, time_budget_s=3600, final_seeds=0)
    handle = create_study(url, "s", spec)
    ticks = itertools.count(0.0, 100.0)  # each epoch takes 100 s on this clock; the share is 450 s
    objective = LungObjective(
        spec.space, DataProvider(spec.data, spec.split), keras_callbacks=time_limited(spec, clock=lambda: next(ticks))
    )
    handle.study.optimize(objective, n_trials=1)
    (trial,) = handle.study.get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.user_attrs["epochs_run"] == 4  # a fifth epoch would end at 500 s
    assert trial.user_attrs[STOPPED_BY] == "trial time share"
    assert trial.value == trial.user_attrs["val_dice"]
    # Trained again (final score, replay), it gets the epochs it had, not the 8 it had no time for.
    assert config_as_trained(spec.space, trial.params, trial.user_attrs, seed=1).max_epochs == 4
    assert config_as_trained(spec.space, trial.params, {"epochs_run": 4}, seed=1).max_epochs == 8
    _, replayed = replay_trial(url, "s", trial.number)
    assert replayed.epochs_run == 4


def test_a_study_without_a_time_budget_adds_no_limit() -> None:
    spec = _spec(10, None)
    assert time_limited(spec) is None
    inner = lambda trial, epochs: []  # noqa: E731
    assert time_limited(spec, inner) is inner


def test_the_cli_takes_a_time_budget(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'c.db'}"
    base = [
        "study",
        "create",
        "--storage",
        storage,
        "--data",
        "synthetic:12",
        "--space",
        str(write_tiny_space(tmp_path)),
    ]
    created = runner.invoke(app, [*base[:2], "timed", *base[2:], "--time-budget", "1h30m"])
    assert created.exit_code == 0, created.output
    assert "1000 trials or 1h30m, whichever ends first" in created.stdout
    spec = open_study(storage, "timed").spec
    assert (spec.time_budget_s, spec.n_trials) == (5400, 1000)  # time alone decides
    both = runner.invoke(app, [*base[:2], "both", *base[2:], "--time-budget", "2h", "--n-trials", "8"])
    assert both.exit_code == 0 and "8 trials or 2h, whichever ends first" in both.stdout
    refused = runner.invoke(app, [*base[:2], "bad", *base[2:], "--time-budget", "soon"])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: 'soon' is not a duration; write e.g. 90s, 45m, 2h or 1h30m")
    assert "Traceback" not in refused.output
