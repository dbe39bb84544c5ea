from __future__ import annotations

import os
import re
from pathlib import Path

import optuna
import pytest

from objectives.config import TrainConfig
from objectives.parameters import find_parameter
from objectives.space import (
    BASELINE,
    Choice,
    Fixed,
    FloatRange,
    IntRange,
    SearchSpace,
    SearchSpaceError,
    config_from_params,
    params_in_space,
    suggest_config,
)


def test_default_space_covers_the_researchers_training_settings_and_plausible_augmentation() -> None:
    space = SearchSpace.default().distributions
    assert space["batch_size"] == Choice((8, 16, 32))
    # epochs are the budget (early stopping and the pruner spend it), not a guess
    assert space["max_epochs"] == Fixed(20)
    # augmentation ranges a chest X-ray plausibly varies by; the researchers' own wider values
    # stay within the limits (the seed preset runs them)
    assert space["rotation"] == FloatRange(0.0, 20.0)
    assert space["width_shift"] == space["height_shift"] == FloatRange(0.0, 0.2)
    assert space["shear"] == space["zoom"] == FloatRange(0.0, 0.2)
    assert space["vertical_flip"] == Fixed(False)
    researchers = SearchSpace.default().with_overrides({"rotation": [90.0, 180.0], "zoom": 0.8}).distributions
    assert researchers["rotation"] == Choice((90.0, 180.0))
    assert researchers["zoom"] == Fixed(0.8)
    assert space["augment"] == Choice((True, False))
    assert space["train_fraction"] == Fixed(1.0)  # training on less data is the seed preset's ablation
    assert space["image_size"] == Fixed(128)


def test_toml_overrides(tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_text(
        "[space]\n"
        "batch_size = [8, 16]\n"
        "max_epochs = { low = 5, high = 10 }\n"
        "learning_rate = { low = 1e-4, high = 1e-2, log = true }\n"
        "augment = true\n"
        "image_size = 256\n"
    )
    space = SearchSpace.from_toml(path).distributions
    assert space["batch_size"] == Choice((8, 16))
    assert space["max_epochs"] == IntRange(5, 10)
    assert space["learning_rate"] == FloatRange(1e-4, 1e-2, log=True)
    assert space["augment"] == Fixed(True)
    assert space["image_size"] == Fixed(256)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("batch_sise = [8]", r"space\.batch_sise: unknown parameter; did you mean 'batch_size'"),
        (
            "rotation = { low = 0, high = 270 }",
            r"space\.rotation\.high: expected a value in \[0.0, 180.0\], but got 270.0",
        ),
        ("max_epochs = { low = 10, high = 5 }", r"space\.max_epochs: low 10 is above high 5"),
        ("batch_size = []", r"space\.batch_size: a list of choices must not be empty"),
        ("batch_size = [8.5]", r"space\.batch_size\[0\]: expected an integer, but got 8.5"),
        ("loss = 'dice'", r"space\.loss: expected one of"),
        ("augment = 'yes'", r"space\.augment: expected true or false"),
        (
            "dropout = { low = 0.0, high = 0.3, log = true }",
            r"space\.dropout: a log range needs low > 0",
        ),
        ("image_size = 100", r"space\.image_size: expected a multiple of 2\*\*depth = 16, but got 100"),
        ("shear = { low = 0, hi = 1 }", r"space\.shear: a range takes keys"),
        ("[other]\nx = 1", r"unknown top-level keys \['other'\]"),
        ("batch_size = [8", r"is not valid TOML"),
    ],
)
def test_invalid_files_name_the_bad_key(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "space.toml"
    path.write_text(body if body.startswith("[") else "[space]\n" + body)
    with pytest.raises(SearchSpaceError, match=message):
        SearchSpace.from_toml(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(SearchSpaceError, match=f"^search-space file {re.escape(repr(str(path)))} does not exist$"):
        SearchSpace.from_toml(path)


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(SearchSpaceError, match=f"^search-space file {re.escape(repr(str(tmp_path)))} is a directory"):
        SearchSpace.from_toml(tmp_path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_text("[space]\n")
    path.chmod(0)
    try:
        with pytest.raises(SearchSpaceError, match=f"{re.escape(repr(str(path)))} cannot be read: permission denied"):
            SearchSpace.from_toml(path)
    finally:
        path.chmod(0o600)


def test_other_os_errors_name_the_file(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("")
    path = not_a_folder / "space.toml"  # NotADirectoryError, an OSError the others do not cover
    with pytest.raises(SearchSpaceError, match=f"{re.escape(repr(str(path)))} cannot be read: "):
        SearchSpace.from_toml(path)


def test_file_must_be_utf8(tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_bytes("[space]\nloss = 'bce_dice' # café\n".encode("latin-1"))
    with pytest.raises(
        SearchSpaceError, match=f"{re.escape(repr(str(path)))} must be UTF-8, but line 2 holds byte 0xe9"
    ):
        SearchSpace.from_toml(path)


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_bytes(b"\xef\xbb\xbf[space]\nbatch_size = [16]\n")
    assert SearchSpace.from_toml(path).distributions["batch_size"] == Choice((16,))


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("[space]\nbatch_size = [8\nmax_epochs = 5\n", "(at line 3, column 1)"),
        ("[space]\nbatch_size = [8\n", "(at end of document, after line 2)"),
    ],
)
def test_invalid_toml_names_the_file_and_line(tmp_path: Path, body: str, where: str) -> None:
    path = tmp_path / "space.toml"
    path.write_text(body)
    with pytest.raises(SearchSpaceError) as raised:
        SearchSpace.from_toml(path)
    message = str(raised.value)
    assert message.startswith(f"search-space file {str(path)!r} is not valid TOML: ")
    assert message.endswith(where)
    assert "\n" not in message


def test_misspelt_table_points_to_space(tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_text("[spaces]\nbatch_size = [8]\n")
    with pytest.raises(SearchSpaceError) as raised:
        SearchSpace.from_toml(path)
    message = str(raised.value)
    assert repr(str(path)) in message
    assert "'spaces'" in message
    assert "[space]" in message


def test_round_trip_through_dict() -> None:
    space = SearchSpace.default().with_overrides({"batch_size": [16], "zoom": 0.2})
    assert SearchSpace.from_dict(space.to_dict()) == space


def test_suggest_samples_augmentation_only_when_on() -> None:
    space = SearchSpace.default()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_off = seen_on = False
    for _ in range(12):
        trial = study.ask()
        config = suggest_config(trial, space, seed=5)
        assert isinstance(config, TrainConfig) and config.seed == 5
        assert config.batch_size in (8, 16, 32)
        if config.augment:
            seen_on = True
            assert "rotation" in trial.params and config.augmentation.rotation == trial.params["rotation"]
        else:
            seen_off = True
            assert "rotation" not in trial.params
        study.tell(trial, 0.5)
    assert seen_on and seen_off


def test_each_sampled_parameter_keeps_its_name_in_the_config() -> None:
    space = SearchSpace.default().with_overrides({"augment": True, "depth": [3, 4], "image_size": 64})
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2)).ask()
    config = suggest_config(trial, space, seed=0)
    assert len(trial.params) > 15
    for name, value in trial.params.items():
        section = find_parameter(name).section
        assert getattr(config if section == "train" else getattr(config, section), name) == value, name


def test_config_from_params_rebuilds_a_trial() -> None:
    space = SearchSpace.default()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    trial = study.ask()
    sampled = suggest_config(trial, space, seed=3)
    assert config_from_params(space, trial.params, seed=3) == sampled


def test_baseline_stays_inside_the_space() -> None:
    assert params_in_space(SearchSpace.default(), BASELINE)["batch_size"] == BASELINE["batch_size"]
    narrow = SearchSpace.default().with_overrides(
        {"batch_size": [16, 32], "rotation": {"low": 0, "high": 90}, "width_shift": {"low": 0.0, "high": 0.5}}
    )
    params = params_in_space(narrow, BASELINE)
    assert "batch_size" not in params and "rotation" not in params
    assert params["width_shift"] == 0.3
    assert "height_shift" not in params  # 0.3 lies outside the default 0 to 0.2


def test_grid_needs_choices() -> None:
    with pytest.raises(SearchSpaceError, match="grid sampler needs choices"):
        SearchSpace.default().grid()


def test_the_pruners_warm_up_covers_the_longest_warm_up_at_the_shortest_epochs() -> None:
    default = SearchSpace.default()  # 100 warm-up steps; 25, 50 or 100 steps per epoch
    assert default.warmup_epochs() == 4
    assert default.with_overrides({"steps_per_epoch": 10}).warmup_epochs() == 10
    assert default.with_overrides({"steps_per_epoch": 10, "warmup_steps": [20, 30]}).warmup_epochs() == 3
    assert default.with_overrides({"warmup_steps": 0}).warmup_epochs() == 0


def test_a_negative_warm_up_is_refused_by_name() -> None:
    with pytest.raises(SearchSpaceError, match="warmup_steps"):
        SearchSpace.default().with_overrides({"warmup_steps": -1})
