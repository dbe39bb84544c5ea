"""``hpo study list|show|best|export``, ``hpo model export``, ``hpo predict`` and the dashboard,
on one tiny study trained once for the whole module (2 trials of 2 epochs on 32-pixel phantoms).
"""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import numpy as np
import optuna
import pydicom
import pytest
from optuna.trial import TrialState
from PIL import Image
from pydicom.dataset import Dataset as DicomDataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
from typer.testing import CliRunner

from hpo.cli import app
from hpo.results.dashboard import dashboard_app, dashboard_server
from hpo.study.presets import make_spec
from hpo.study.run import create_study, open_study, run_trials
from objectives.data import parse_source
from objectives.keras_setup import import_keras
from objectives.phantom import make_phantom
from tests.objectives_tests.data.conftest import ExportBuilder, square_polygon, write_png
from tests.tiny import tiny_space

runner = CliRunner()
TRIALS = 2  # trained; plus one failed trial added by hand


@dataclass(frozen=True)
class TinyStudy:
    storage: str
    artifacts: Path
    folder: Path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyStudy:
    folder = tmp_path_factory.mktemp("results-cli")
    storage, artifacts = f"sqlite:///{folder / 'studies.db'}", folder / "artifacts"
    spec, _ = make_spec(parse_source("synthetic:12"), tiny_space(), n_trials=TRIALS, val_fraction=0.25)
    create_study(storage, "tiny", spec)
    assert run_trials(open_study(storage, "tiny"), artifact_dir=artifacts) == TRIALS
    plain = optuna.load_study(study_name="tiny", storage=storage)  # no heartbeat: it warns on ask/tell
    trial = plain.ask()
    trial.set_user_attr("failure", "ValueError: out of memory")
    plain.tell(trial, state=TrialState.FAIL)
    return TinyStudy(storage, artifacts, folder)


def _run(tiny: TinyStudy, *arguments: str, artifacts: bool = False) -> Any:
    extra = ["--storage", tiny.storage] + (["--artifacts", str(tiny.artifacts)] if artifacts else [])
    return runner.invoke(app, [*arguments, *extra])


def test_study_list(tiny: TinyStudy) -> None:
    table = _run(tiny, "study", "list")
    assert table.exit_code == 0, table.output
    assert "tiny" in table.output and f"{TRIALS}/{TRIALS}" in table.output
    (record,) = json.loads(_run(tiny, "study", "list", "--format", "json").stdout)
    assert (record["study"], record["finished"], record["budget"], record["failed"]) == ("tiny", TRIALS, TRIALS, 1)
    assert 0.0 <= record["best_dice"] <= 1.0
    assert (record["sampler"], record["pruner"], record["data"]) == ("tpe", "median", "synthetic:12")


def test_study_show(tiny: TinyStudy) -> None:
    table = _run(tiny, "study", "show", "tiny")
    assert table.exit_code == 0, table.output
    assert "COMPLETE" in table.output and "FAIL" in table.output
    # Piped (as here), the table is tab-separated lines, a header first: no wrapping at 80
    # columns, no number cut in two; its title goes to stderr.
    header, *lines = table.stdout.splitlines()
    assert header.split("\t")[:3] == ["#", "state", "DICE"]
    assert len(lines) == TRIALS + 1 and all(len(line.split("\t")) == len(header.split("\t")) for line in lines)
    assert "learning_rate=" in lines[0].split("\t")[-1]  # every parameter whole, in the last column
    assert "Trials of study" in table.stderr and "Trials of study" not in table.stdout
    shown = json.loads(_run(tiny, "study", "show", "tiny", "--format", "json").stdout)
    assert [trial["state"] for trial in shown] == ["COMPLETE"] * TRIALS + ["FAIL"]
    assert shown[-1]["failure"] == "ValueError: out of memory"
    assert all(trial["params"] and trial["train_accuracy"] is not None for trial in shown[:TRIALS])


def test_study_best(tiny: TinyStudy) -> None:
    best = json.loads(_run(tiny, "study", "best", "tiny", "--format", "json").stdout)
    study = optuna.load_study(study_name="tiny", storage=tiny.storage)
    assert best["trial"] == study.best_trial.number and best["dice"] == study.best_value
    assert set(best["params"]) == set(study.best_trial.params)


def test_study_export_csv_and_json(tiny: TinyStudy) -> None:
    exported = _run(tiny, "study", "export", "tiny", "--format", "csv")
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == TRIALS + 1 and any(key.startswith("param_") for key in rows[0])
    out = tiny.folder / "export" / "tiny.json"
    written = _run(tiny, "study", "export", "tiny", "--format", "json", "--out", str(out))
    assert written.exit_code == 0 and written.stdout == ""
    assert len(json.loads(out.read_text())) == TRIALS + 1
    # Where each trial trained, beside the backend (workers on several machines may differ).
    trained = [row for row in rows if row["state"] == "COMPLETE"]
    backend = import_keras().backend.backend()
    assert [(row["device"], row["keras_backend"], row["precision"]) for row in trained] == [
        ("cpu", backend, "float32")
    ] * TRIALS


def test_study_best_names_the_device_and_backend(tiny: TinyStudy) -> None:
    best = json.loads(_run(tiny, "study", "best", "tiny", "--format", "json").stdout)
    backend = import_keras().backend.backend()
    assert (best["device"], best["keras_backend"], best["precision"]) == ("cpu", backend, "float32")


@pytest.mark.parametrize(
    "command",
    [
        ["study", "show", "nope"],
        ["study", "best", "nope"],
        ["study", "export", "nope"],
        ["model", "export", "nope", "--out", "x.keras"],
    ],
)
def test_an_unknown_study_is_one_line_and_exit_1(tiny: TinyStudy, command: list[str]) -> None:
    result = _run(tiny, *command)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "no study named 'nope'" in result.output and "'tiny'" in result.output


def _write_dicom(path: Path, pixels: np.ndarray) -> None:
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = DicomDataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    pydicom.dcmwrite(path, ds, enforce_file_format=True)


@pytest.fixture(scope="module")
def model(tiny: TinyStudy) -> Path:
    out = tiny.folder / "best.keras"
    result = _run(tiny, "model", "export", "tiny", "--out", str(out), "--format", "json", artifacts=True)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["trial"] == optuna.load_study(study_name="tiny", storage=tiny.storage).best_trial.number
    return out


def test_exported_model_predicts_masks_at_the_original_size(tiny: TinyStudy, model: Path) -> None:
    scans = tiny.folder / "scans"
    scans.mkdir()
    # Phantoms of a seed never used in training, at sizes the study never saw.
    image, _ = make_phantom(np.random.default_rng(99), 50)
    Image.fromarray((image[5:45, :] * 255).astype(np.uint8)).save(scans / "wide.png")  # 50 x 40
    dicom_image, _ = make_phantom(np.random.default_rng(98), 36)
    _write_dicom(scans / "deep.dcm", dicom_image[:, 3:30] * 4095)  # 27 x 36
    (scans / "broken.png").write_bytes(b"not a png")
    out = tiny.folder / "masks"
    result = runner.invoke(app, ["predict", str(model), str(scans), "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [Path(item["input"]).name for item in report["written"]] == ["deep.dcm", "wide.png"]
    assert [Path(item["input"]).name for item in report["skipped"]] == ["broken.png"]
    assert "skipped" in result.stderr and "broken.png" in result.stderr
    for stem, (width, height) in (("wide", (50, 40)), ("deep", (27, 36))):
        with Image.open(out / f"{stem}_mask.png") as mask:
            assert mask.size == (width, height)
            assert set(np.unique(np.asarray(mask))) <= {0, 255}
        with Image.open(out / f"{stem}_overlay.png") as picture:
            assert picture.size == (width, height) and picture.mode == "RGB"
    # The table names every file written for each input: its mask and its overlay.
    listed = runner.invoke(app, ["predict", str(model), str(scans / "wide.png"), "--out", str(out)])
    assert listed.exit_code == 0, listed.output
    header, row = listed.stdout.splitlines()
    assert header.split("\t") == ["input", "size (w x h)", "lung", "mask", "overlay"]
    assert row.split("\t")[3:] == [str(out / "wide_mask.png"), str(out / "wide_overlay.png")]


def test_predict_without_usable_input_exits_1(tiny: TinyStudy, model: Path) -> None:
    result = runner.invoke(app, ["predict", str(model), str(tiny.folder / "absent.png"), "--out", str(tiny.folder)])
    assert result.exit_code == 1
    assert "no such file or folder" in result.output and "no usable input" in result.output


def _get(wsgi: Any, path: str) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer.update(status=status, headers=dict(headers))

    result = wsgi(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()  # as WSGI servers do: an artifact's body holds its file open
    return answer["status"], answer["headers"], body


def test_dashboard_serves_trials_and_their_prediction_images(tiny: TinyStudy) -> None:
    wsgi = dashboard_app(tiny.storage, tiny.artifacts)
    status, _, body = _get(wsgi, "/api/studies")
    assert status.startswith("200")
    (summary,) = json.loads(body)["study_summaries"]
    assert summary["study_name"] == "tiny"
    status, _, body = _get(wsgi, f"/api/studies/{summary['study_id']}")
    detail = json.loads(body)
    # The objective is named, the spec is a readable note rather than a JSON blob among the
    # attributes, and each trained trial has a note with its results.
    assert detail["objective_names"] == ["validation DICE"]
    assert detail["note"]["body"].startswith("## Study tiny")
    assert "| data | `synthetic:12` |" in detail["note"]["body"] and "| learning_rate | " in detail["note"]["body"]
    assert not any(attribute["key"].startswith("lung_hpo.spec") for attribute in detail["user_attrs"])
    trials = detail["trials"]
    assert all(trial["note"]["body"].startswith("**Validation DICE ") for trial in trials[:TRIALS])
    assert len(trials) == TRIALS + 1
    completed = [trial for trial in trials if trial["state"] == "Complete"]
    assert len(completed) == TRIALS
    for trial in completed:
        figures = [artifact for artifact in trial["artifacts"] if artifact["mimetype"] == "image/png"]
        assert [artifact["filename"] for artifact in figures] == ["predictions.png"]
        status, headers, image = _get(
            wsgi, f"/artifacts/{summary['study_id']}/{trial['trial_id']}/{figures[0]['artifact_id']}"
        )
        assert status.startswith("200") and headers["Content-Type"] == "image/png"
        assert image.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_served_dashboard_answers_and_keeps_the_terminal_quiet(
    tiny: TinyStudy, capfd: pytest.CaptureFixture[str]
) -> None:
    server = dashboard_server(tiny.storage, tiny.artifacts, "127.0.0.1", 0)  # any free port
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=60) as response:
            summaries = json.load(response)["study_summaries"]
    finally:
        server.shutdown()
        server.server_close()
    assert [summary["study_name"] for summary in summaries] == ["tiny"]
    printed = capfd.readouterr()
    assert printed.out + printed.err == ""  # no server banner, no access-log line per request

    # A port that is taken: one line and exit 1, from the command.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        result = _run(tiny, "dashboard", "--port", str(busy), artifacts=True)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"cannot serve the dashboard on 127.0.0.1:{busy}" in result.stderr


@pytest.mark.parametrize(
    "command", [["study", "list"], ["study", "show"], ["study", "best"], ["study", "export"], ["study", "finalize"],
                ["dashboard"], ["model", "export"], ["predict"], ["evaluate"]],
)  # fmt: skip
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Example: hpo " in result.output


def test_evaluate_scores_a_folder_at_native_resolution(tiny: TinyStudy, model: Path) -> None:
    data = tiny.folder / "eval-folder"
    for index, (height, width) in enumerate([(40, 50), (36, 27), (32, 32)]):
        image, mask = make_phantom(np.random.default_rng(200 + index), max(height, width))
        write_png(data / "images" / f"case{index}.png", (image[:height, :width] * 255).astype(np.uint8))
        write_png(data / "masks" / f"case{index}.png", mask[:height, :width] * np.uint8(255))
    out = tiny.folder / "eval-out"
    result = runner.invoke(
        app, ["evaluate", str(model), "--data", f"folder:{data}", "--out", str(out), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["images"] == 3 and summary["resolution"] == "native"
    rows = list(csv.DictReader(io.StringIO((out / "per-image.csv").read_text())))
    # One row per image, at the image's own size, not the model's 32 px.
    assert [(row["image"], row["height"], row["width"]) for row in rows] == [
        ("case0.png", "40", "50"), ("case1.png", "36", "27"), ("case2.png", "32", "32"),
    ]  # fmt: skip
    assert summary["dice"] == pytest.approx(np.mean([float(row["dice"]) for row in rows]), abs=1e-5)
    assert summary["worst"][0] == min(rows, key=lambda row: float(row["dice"]))["image"]
    assert (out / "worst.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    # As a table: the worst images as a list of names, the interval as "low to high".
    table = runner.invoke(app, ["evaluate", str(model), "--data", f"folder:{data}", "--out", str(out)])
    assert table.exit_code == 0, table.output
    cells = dict(line.split("\t", 1) for line in table.stdout.splitlines())
    assert cells["worst"] == ", ".join(summary["worst"])
    assert cells["dice_ci95"] == "{:.4g} to {:.4g}".format(*summary["dice_ci95"])


def test_evaluate_reads_an_mdai_export(tiny: TinyStudy, model: Path) -> None:
    builder = ExportBuilder(tiny.folder / "eval-mdai")
    for index in range(2):
        image, _ = make_phantom(np.random.default_rng(300 + index), 48)
        uids = builder.add_image(index, (image[:, 4:44] * 4095).astype(np.uint16))  # 48 x 40
        builder.annotate(uids, ExportBuilder.LUNG, {"vertices": square_polygon(8, 6, 40, 34)})
    builder.write()
    out = tiny.folder / "eval-mdai-out"
    result = runner.invoke(
        app, ["evaluate", str(model), "--data", f"mdai-export:{builder.root}", "--out", str(out), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["images"] == 2
    rows = list(csv.DictReader(io.StringIO((out / "per-image.csv").read_text())))
    assert {(row["height"], row["width"]) for row in rows} == {("48", "40")}


def test_evaluate_names_a_bad_source_in_one_line(tiny: TinyStudy, model: Path) -> None:
    result = runner.invoke(app, ["evaluate", str(model), "--data", "folder:/nonexistent", "--out", str(tiny.folder)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
