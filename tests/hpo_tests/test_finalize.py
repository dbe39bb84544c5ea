"""`hpo study finalize`: the best configuration retrained and scored on the locked test set."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from hpo.cli import app
from hpo.report import build_report
from hpo.results.studies import best_row, read_study
from hpo.study.finalize import (
    FINAL_ATTRIBUTE,
    FinalScore,
    final_score_due,
    finalize,
    finalize_when_over,
    load_final_score,
)
from hpo.study.presets import make_spec
from hpo.study.run import create_study, open_study, run_trials
from objectives.data import parse_source
from tests.tiny import tiny_space

runner = CliRunner()


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("finalize")
    url = f"sqlite:///{folder / 'studies.db'}"
    spec, _ = make_spec(parse_source("synthetic:16"), tiny_space(), n_trials=2, val_fraction=0.25, test_fraction=0.25)
    create_study(url, "tiny", spec)
    assert run_trials(open_study(url, "tiny")) == 2
    untested, _ = make_spec(parse_source("synthetic:16"), tiny_space(), n_trials=1, test_fraction=0.0)
    create_study(url, "untested", untested)
    return url


def test_finalize_scores_the_best_configuration_on_the_test_images(storage: str) -> None:
    handle = open_study(storage, "tiny")
    seen: list[int] = []
    score = finalize(handle, seeds=2, on_seed=lambda seed, dice: seen.append(seed))
    best = handle.study.best_trial
    assert (score.trial, score.validation_dice) == (best.number, best.value)
    assert score.test_images == len(handle.spec.split.test) == 4
    assert len(score.seeds) == 2 and list(score.seeds) == seen
    assert not set(score.seeds) & {trial.user_attrs["seed"] for trial in handle.study.trials}  # fresh seeds
    assert 0.0 <= score.dice <= 1.0 and score.dice_sd >= 0.0
    low, high = score.dice_ci95
    assert 0.0 <= low <= high <= 1.0
    assert 0.0 <= score.pixel_accuracy <= 1.0 and score.resolution == "native"
    # Stored in the study, where every reader finds it.
    assert load_final_score(read_study(storage, "tiny")) == score
    assert FinalScore.from_json(score.to_json()) == score


def test_best_and_report_show_the_test_score_beside_the_validation_score(storage: str) -> None:
    study = read_study(storage, "tiny")
    if load_final_score(study) is None:
        finalize(open_study(storage, "tiny"), seeds=1)
    final = load_final_score(read_study(storage, "tiny"))
    assert final is not None
    row = best_row(read_study(storage, "tiny"))
    assert row is not None and row["dice"] == final.validation_dice and row["test_dice"] == final.dice
    shown = runner.invoke(app, ["study", "best", "tiny", "--storage", storage, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["test_images"] == 4
    table = runner.invoke(app, ["study", "best", "tiny", "--storage", storage])
    low, high = final.dice_ci95
    assert f"test_dice_ci95\t{low:.4g} to {high:.4g}\n" in table.stdout  # an interval, not a raw list
    report = build_report(storage, "tiny", Path("/nonexistent"))
    assert report.summary[0].startswith("Final score: test DICE ")


def test_the_cli_prints_the_score_as_json(storage: str) -> None:
    result = runner.invoke(app, ["study", "finalize", "tiny", "--storage", storage, "--seeds", "1", "--format", "json"])
    assert result.exit_code == 0, result.output
    score = json.loads(result.stdout)
    assert score["study"] == "tiny" and len(score["seeds"]) == 1 and score["resolution"] == "native"
    assert "test DICE" in result.stderr  # progress per seed, on stderr
    assert json.loads(optuna.load_study(study_name="tiny", storage=storage).user_attrs[FINAL_ATTRIBUTE])


def test_a_study_without_a_test_set_has_no_final_score(storage: str) -> None:
    result = runner.invoke(app, ["study", "finalize", "untested", "--storage", storage])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: study 'untested' has no locked test set")
    report = build_report(storage, "untested", Path("/nonexistent"))
    assert "no locked test set" in report.summary[0]


@pytest.mark.slow
def test_the_final_score_is_computed_once_when_the_study_is_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'auto.db'}"
    spec, _ = make_spec(parse_source("synthetic:16"), tiny_space(), n_trials=2, val_fraction=0.25, final_seeds=1)
    create_study(url, "auto", spec)
    assert run_trials(open_study(url, "auto"), max_trials=1) == 1
    assert finalize_when_over(open_study(url, "auto")) is None  # one trial still to run
    run_trials(open_study(url, "auto"))
    started: list[tuple[int, int]] = []
    score = finalize_when_over(open_study(url, "auto"), on_start=lambda trial, seeds: started.append((trial, seeds)))
    assert score is not None and len(score.seeds) == 1
    assert started == [(score.trial, 1)]
    assert load_final_score(read_study(url, "auto")) == score
    assert finalize_when_over(open_study(url, "auto")) is None  # done already: not retrained


def test_a_study_that_asks_for_no_final_score_gets_none_automatically(storage: str) -> None:
    handle = open_study(storage, "untested")  # no test set
    assert handle.spec.final_seeds == 3 and not final_score_due(handle)
    assert finalize_when_over(handle) is None


def test_the_summary_gives_a_spread_over_seeds_only_when_there_are_several() -> None:
    one = FinalScore(3, 0.91, (7,), 20, 0.9, 0.0, (0.88, 0.92), 0.82, 0.0, 0.97)
    assert one.summary().startswith("test DICE 0.9000 with 1 seed (95% CI 0.8800 to 0.9200 over 20 locked test images")
    three = FinalScore(3, 0.91, (7, 8, 9), 20, 0.9, 0.01, (0.88, 0.92), 0.82, 0.01, 0.97)
    assert three.summary().startswith("test DICE 0.9000 ± 0.0100 over 3 seeds (95% CI 0.8800 to 0.9200")
