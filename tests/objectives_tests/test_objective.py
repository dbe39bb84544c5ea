from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.artifacts import FileSystemArtifactStore, get_all_artifact_meta

from objectives.config import UNetConfig
from objectives.data import make_split, parse_source
from objectives.objective import DataProvider, LungObjective
from objectives.training_model import build_training_model, network_of
from objectives.unet import build_unet
from tests.tiny import tiny_space


@pytest.fixture(scope="module")
def provider() -> DataProvider:
    return DataProvider(parse_source("synthetic:12"), make_split(12, 0.25, seed=0))


def test_fixed_trial_trains_and_records(provider: DataProvider) -> None:
    params = {
        "batch_size": 4,
        "learning_rate": 3e-3,
        "loss": "bce_dice",
        "dilated_layers": 1,
        "augment": False,
    }
    trial = optuna.trial.FixedTrial(params)
    value = LungObjective(tiny_space(), provider, base_seed=7)(trial)
    assert 0.0 <= value <= 1.0
    attrs = trial.user_attrs
    assert attrs["val_dice"] == value
    assert attrs["epochs_run"] == 2
    assert attrs["seed"] == 7
    assert attrs["keras_backend"] == "tensorflow"
    assert attrs["device"] == "cpu"  # where it trained: a GPU model name, or cpu
    assert "worker_group" not in attrs  # set only under `hpo worker`'s supervisor
    for key in (
        "train_accuracy",
        "val_accuracy",
        "val_iou",
        "best_val_dice",
        "images_per_second",
    ):
        assert np.isfinite(attrs[key]), key
    # What Optuna keeps itself (run time, epochs, artifacts) is not written again.
    assert not {"wall_time_s", "pruned_at_epoch", "figure_artifact_id", "model_artifact_id"} & set(attrs)


def test_a_trial_below_the_median_is_pruned_at_once(provider: DataProvider, tmp_path: Path) -> None:
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(
        storage=storage,
        direction="maximize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
    )
    # A finished trial that reached DICE 1.0 at every epoch sets the median out of reach.
    strong = study.ask()
    for epoch in range(2):
        strong.report(1.0, epoch)
    study.tell(strong, 1.0)

    store = FileSystemArtifactStore(str(tmp_path))
    study.optimize(LungObjective(tiny_space(), provider, artifact_store=store), n_trials=1)
    pruned = study.trials[-1]
    assert pruned.state == optuna.trial.TrialState.PRUNED
    assert list(pruned.intermediate_values) == [0]  # training stopped after the first epoch
    # It shows why: the epochs it ran and its last epoch's predictions (no model: it lost).
    assert pruned.user_attrs["epochs_run"] == 1
    # Where and how it trained, recorded at its start like a completed trial's.
    assert (pruned.user_attrs["device"], pruned.user_attrs["precision"]) == ("cpu", "float32")
    uploaded = {meta.filename for meta in get_all_artifact_meta(pruned, storage=storage)}
    assert uploaded == {"predictions.png"}


def test_callbacks_reach_the_unet_through_the_training_model() -> None:
    unet = build_unet(UNetConfig(base_filters=2, depth=2, dilated_layers=0), 16)
    assert network_of(build_training_model(unet, None)) is unet
    assert network_of(unet) is unet


def test_completed_trials_upload_figure_and_best_model(provider: DataProvider, tmp_path: Path) -> None:
    store = FileSystemArtifactStore(str(tmp_path))
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(LungObjective(tiny_space(), provider, artifact_store=store), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE
    uploaded = {meta.filename: meta for meta in get_all_artifact_meta(trial, storage=storage)}
    assert set(uploaded) == {"predictions.png", "model.keras"}
    assert uploaded["predictions.png"].mimetype == "image/png"
    figure = tmp_path / uploaded["predictions.png"].artifact_id
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failure_is_recorded(provider: DataProvider) -> None:
    broken = DataProvider(parse_source("synthetic:4"), make_split(12, 0.25, seed=0))
    study = optuna.create_study(direction="maximize")
    study.optimize(LungObjective(tiny_space(), broken), n_trials=1, catch=(ValueError,))
    failed = study.trials[0]
    assert failed.state == optuna.trial.TrialState.FAIL
    assert "the data changed since the study was created" in failed.user_attrs["failure"]
