"""The read side of studies (records, CSV, JSON), model export and prediction inputs, without training.

Trials are written with ask/tell and the user attributes the objective records, so nothing here
imports Keras.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from hpo.results.dashboard import dashboard_url, is_loopback
from hpo.results.export import export_model, rows_to_csv, rows_to_json
from hpo.results.predict import collect_inputs, overlay
from hpo.results.records import TrialRecord, best, records_of
from hpo.results.studies import read_study, study_rows
from hpo.study.presets import make_spec
from hpo.study.run import create_study
from objectives.data import parse_source
from storage import StorageError, open_artifact_store
from tests.tiny import tiny_space


def _tell(
    study: optuna.Study, state: TrialState, value: float | None = None, epochs: int = 0, **attrs: object
) -> optuna.trial.Trial:
    trial = study.ask({"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)})
    for key, value_ in attrs.items():
        trial.set_user_attr(key, value_)
    for epoch in range(epochs):
        trial.report(0.1 * (epoch + 1), epoch)
    study.tell(trial, value, state=state)
    return trial


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A lung-hpo study 'lungs' (2 complete, 1 pruned, 1 failed) and a foreign one."""
    folder = tmp_path_factory.mktemp("results")
    url = f"sqlite:///{folder / 'studies.db'}"
    spec, _ = make_spec(parse_source("synthetic:12"), tiny_space(), n_trials=3, val_fraction=0.25)
    create_study(url, "lungs", spec)
    study = optuna.load_study(study_name="lungs", storage=url)  # no heartbeat: it warns on ask/tell
    _tell(study, TrialState.COMPLETE, 0.5, epochs=2, train_accuracy=0.8, val_accuracy=0.7, epochs_run=2)
    _tell(study, TrialState.COMPLETE, 0.75, epochs=2, train_accuracy=0.9, val_accuracy=0.85, epochs_run=2)
    _tell(study, TrialState.PRUNED, epochs=1)
    _tell(study, TrialState.FAIL, failure="ValueError: out of memory")
    foreign = optuna.create_study(study_name="other", storage=url, direction="minimize")
    foreign.optimize(lambda trial: trial.suggest_float("x", -1, 1) ** 2, n_trials=2)
    return url


def test_study_records_cover_lung_hpo_and_plain_optuna_studies(storage: str) -> None:
    records = {record["study"]: record for record in study_rows(storage)}
    assert set(records) == {"lungs", "other"}
    lungs = records["lungs"]
    assert (lungs["finished"], lungs["budget"], lungs["running"], lungs["failed"]) == (3, 3, 0, 1)
    assert (lungs["best_dice"], lungs["best_trial"]) == (0.75, 1)
    assert (lungs["sampler"], lungs["pruner"], lungs["data"]) == ("tpe", "median", "synthetic:12")
    other = records["other"]
    assert other["budget"] is None and other["sampler"] is None
    assert other["finished"] == 2 and other["best_trial"] in (0, 1)


def test_trial_records(storage: str) -> None:
    study = read_study(storage, "lungs")
    shown = [record.row() for record in records_of(study)]
    assert [record["number"] for record in shown] == [0, 1, 2, 3]
    assert [record["state"] for record in shown] == ["COMPLETE", "COMPLETE", "PRUNED", "FAIL"]
    assert shown[1]["dice"] == 0.75 and shown[1]["train_accuracy"] == 0.9
    # Epochs and run time come from what Optuna holds: reported values and timestamps.
    assert shown[2]["pruned_at_epoch"] == 1 and shown[2]["dice"] is None
    assert shown[0]["pruned_at_epoch"] is None
    assert all(record["wall_time_s"] is not None and record["wall_time_s"] >= 0 for record in shown)
    assert shown[3]["failure"] == "ValueError: out of memory"
    assert set(shown[0]["params"]) == {"learning_rate"}


def test_best_is_the_highest_completed_dice_and_the_earliest_of_equals() -> None:
    records = [
        TrialRecord(0, "COMPLETE", 0.5),
        TrialRecord(1, "PRUNED", None),
        TrialRecord(2, "COMPLETE", 0.7),
        TrialRecord(3, "COMPLETE", 0.7),
        TrialRecord(4, "FAIL"),
    ]
    chosen = best(records)
    assert chosen is not None and chosen.number == 2
    assert best(records[1:2]) is None


def test_csv_has_one_row_per_trial_and_a_column_per_parameter(storage: str) -> None:
    records = [record.row() for record in records_of(read_study(storage, "lungs"))]
    rows = list(csv.DictReader(io.StringIO(rows_to_csv(records))))
    assert len(rows) == len(records)
    assert rows[1]["dice"] == "0.75" and rows[1]["param_learning_rate"]
    assert rows[2]["dice"] == "" and rows[3]["failure"] == "ValueError: out of memory"


def test_csv_leaves_cells_of_missing_parameters_empty() -> None:
    records = [{"number": 0, "params": {"a": 1}}, {"number": 1, "params": {"b": 2}}]
    assert rows_to_csv(records) == "number,param_a,param_b\n0,1,\n1,,2\n"


def test_json_is_strict_and_parses_back(storage: str) -> None:
    records = [record.row() for record in records_of(read_study(storage, "lungs"))]
    assert json.loads(rows_to_json(records)) == records
    # NaN is not JSON; a record never holds one.
    assert rows_to_json([{"dice": None}]) == '[{"dice": null}]'


def test_unknown_study_names_the_known_ones(storage: str) -> None:
    with pytest.raises(KeyError, match=r"no study named 'nope'.*'lungs', 'other'"):
        read_study(storage, "nope")


def test_reading_a_missing_database_does_not_create_it(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        study_rows(f"sqlite:///{tmp_path / 'absent.db'}")
    assert not (tmp_path / "absent.db").exists()


@pytest.fixture
def model_study(tmp_path: Path) -> tuple[str, Path]:
    """Trial 0 saved a (fake) model; trial 1 is better but saved none."""
    url = f"sqlite:///{tmp_path / 'models.db'}"
    artifacts = tmp_path / "artifacts"
    store = open_artifact_store(artifacts)
    study = optuna.create_study(study_name="m", storage=url, direction="maximize")
    trial = study.ask()
    weights = tmp_path / "model.keras"
    weights.write_bytes(b"weights of trial 0")
    # Found by its file name among the trial's artifacts, as the objective uploads it.
    optuna.artifacts.upload_artifact(artifact_store=store, file_path=str(weights), study_or_trial=trial)
    study.tell(trial, 0.6)
    _tell(study, TrialState.COMPLETE, 0.7)
    return url, artifacts


def test_export_refuses_a_best_trial_without_model_and_names_one_with(
    model_study: tuple[str, Path], tmp_path: Path
) -> None:
    url, artifacts = model_study
    with pytest.raises(ValueError, match=r"best trial #1 .* no saved model; trial #0 .* --trial 0"):
        export_model(url, "m", artifacts, tmp_path / "best.keras")
    assert not (tmp_path / "best.keras").exists()


def test_export_copies_the_chosen_trials_model_and_needs_force_to_replace(
    model_study: tuple[str, Path], tmp_path: Path
) -> None:
    url, artifacts = model_study
    out = tmp_path / "out" / "chosen.keras"
    exported = export_model(url, "m", artifacts, out, trial_number=0)
    assert (exported.trial, exported.dice) == (0, 0.6)
    assert out.read_bytes() == b"weights of trial 0"
    with pytest.raises(ValueError, match="already exists; pass --force"):
        export_model(url, "m", artifacts, out, trial_number=0)
    export_model(url, "m", artifacts, out, trial_number=0, overwrite=True)
    assert sorted(path.name for path in out.parent.iterdir()) == ["chosen.keras"]  # no partial file left


@pytest.mark.parametrize(
    ("out", "artifacts", "message"),
    [
        ("best.h5", "artifacts", "must end in .keras"),
        ("best.keras", "elsewhere", "no artifact folder"),
    ],
)
def test_export_rejects_bad_paths(
    model_study: tuple[str, Path], tmp_path: Path, out: str, artifacts: str, message: str
) -> None:
    url, _ = model_study
    with pytest.raises(ValueError, match=message):
        export_model(url, "m", tmp_path / artifacts, tmp_path / out, trial_number=0)


def test_collect_inputs_walks_folders_and_names_what_it_skips(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    (scans / "nested").mkdir(parents=True)
    out = scans / "out"
    out.mkdir()
    for path in (scans / "a.png", scans / "nested" / "b.dcm", scans / "nested" / "a.jpg", scans / "notes.txt"):
        path.write_bytes(b"")
    (scans / "d_mask.png").write_bytes(b"")  # an output of an earlier run
    (out / "c.png").write_bytes(b"")
    files, skipped = collect_inputs([scans, tmp_path / "missing.png", scans / "notes.txt"], exclude=out)
    assert files == [scans / "a.png", scans / "nested" / "b.dcm"]
    reasons = {Path(entry.item).name: entry.reason for entry in skipped}
    assert reasons["a.jpg"].startswith("its outputs would overwrite")
    assert reasons["missing.png"] == "no such file or folder"
    assert reasons["notes.txt"].startswith("not one of .dcm")


def test_overlay_tints_only_the_mask() -> None:
    image = np.array([[0.0, 10.0], [20.0, 30.0]])
    mask = np.array([[0, 1], [0, 0]], dtype=np.uint8)
    picture = overlay(image, mask)
    assert picture.shape == (2, 2, 3) and picture.dtype == np.uint8
    # Unmasked pixels stay gray (R = G = B); the masked one leans red.
    assert picture[1, 1].tolist() == [255, 255, 255] and picture[0, 0].tolist() == [0, 0, 0]
    red, green, _ = picture[0, 1].tolist()
    assert red > green


def test_dashboard_address_masks_the_password() -> None:
    url = dashboard_url("127.0.0.1", 8080, "postgresql://hpo:hunter2@db/hpo")
    assert url.startswith("http://127.0.0.1:8080/dashboard") and "hunter2" not in url
    assert dashboard_url("::1", 80) == "http://[::1]:80/dashboard"


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                ("0.0.0.0", False), ("example.org", False)])  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
