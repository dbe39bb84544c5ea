from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from hpo.cli import app
from hpo.study.presets import PRESETS, seed_trials
from objectives.space import BASELINE, Fixed
from tests.tiny import write_tiny_space


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_has_a_valid_space(name: str) -> None:
    space = PRESETS[name].space()
    for trial in PRESETS[name].seed_trials:
        for parameter, value in trial.params.items():
            distribution = space.distributions[parameter]
            values = [distribution.value] if isinstance(distribution, Fixed) else distribution.values  # type: ignore[union-attr]
            assert value in values, (name, parameter, value)


def test_seed_preset_varies_one_factor_at_a_time() -> None:
    trials = seed_trials()
    assert trials[0].factor == "baseline" and trials[0].params == BASELINE
    factors = {
        "batch size": {"batch_size"},
        "epochs": {"max_epochs"},
        "shift": {"width_shift", "height_shift"},
        "rotation": {"rotation"},
        "shear and zoom": {"shear", "zoom"},
    }
    for trial in trials[1:]:
        changed = {name for name, value in trial.params.items() if BASELINE[name] != value}
        if trial.factor == "augmentation":
            assert trial.params["augment"] is False
            assert "rotation" not in trial.params  # augmentation settings are moot without it
        else:
            assert changed == factors[trial.factor], trial
    settings = {(t.factor, t.setting) for t in trials}
    assert ("batch size", "32") in settings and ("epochs", "5") in settings
    assert ("augmentation", "off, 90% of the data") in settings
    assert len(trials) == 10


def test_study_create_with_seed_preset_enqueues_the_grid(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    result = CliRunner().invoke(
        app, ["study", "create", "seed", "--preset", "seed", "--data", "synthetic:12", "--storage", storage]
    )
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="seed", storage=storage)
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.user_attrs["factor"] for t in waiting][:3] == ["baseline", "batch size", "batch size"]
    assert len(waiting) == 10
    assert "budget 10 trials" in result.output.replace("\n", " ")


def test_enqueue_baseline_keeps_to_the_space(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    space = write_tiny_space(tmp_path)  # batch size 4 only: the baseline's 8 is left to the sampler
    result = CliRunner().invoke(
        app,
        ["study", "create", "b", "--data", "synthetic:12", "--space", str(space), "--enqueue-baseline",
         "--storage", storage],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (queued,) = optuna.load_study(study_name="b", storage=storage).trials
    assert queued.user_attrs["factor"] == "baseline"
    study = optuna.load_study(study_name="b", storage=storage)
    fixed = study.trials[0].system_attrs["fixed_params"]
    assert "batch_size" not in fixed and fixed["augment"] is True


@pytest.mark.slow
def test_seed_study_report_has_the_researchers_tables(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    space = write_tiny_space(tmp_path)
    space.write_text(space.read_text().replace("batch_size = [4]", "batch_size = [8, 16, 32]"))
    create = ["study", "create", "seed", "--preset", "seed", "--data", "synthetic:12", "--space", str(space),
              "--n-trials", "3", "--val-fraction", "0.25", "--storage", storage, "--final-seeds", "0"]  # fmt: skip
    runner = CliRunner()
    assert runner.invoke(app, create).exit_code == 0
    worked = runner.invoke(app, ["worker", "seed", "--storage", storage, "--artifacts", str(tmp_path / "a")])
    assert worked.exit_code == 0, worked.output
    reported = runner.invoke(app, ["report", "seed", "--storage", storage, "--artifacts", str(tmp_path / "a"),
                                   "--out", str(tmp_path / "report")])  # fmt: skip
    assert reported.exit_code == 0, reported.output
    markdown = (tmp_path / "report" / "report.md").read_text()
    section = markdown.split("## One factor at a time")[1].split("## Results by parameter")[0]
    assert "### batch size" in section
    assert "| baseline: batch 8, 10 epochs, augmentation on |" in section
    assert "| 32 |" in section and "| 16 |" in section
