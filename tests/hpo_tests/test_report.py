from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import optuna
import pytest
from PIL import Image
from typer.testing import CliRunner

from hpo.cli import app
from hpo.report import ReportImage, StudyReport, build_report, render_html, render_markdown
from hpo.report.analysis import (
    NOT_SAMPLED,
    factor_tables,
    parameter_table,
    pruned_summary,
    pruning_savings,
    quantile_bins,
    run_rows,
    tuned_parameters,
)
from hpo.report.plots import importances_png, intermediate_curves_png
from hpo.results.records import TrialRecord
from hpo.study.presets import make_spec
from hpo.study.run import create_study, run_trials
from objectives.data import parse_source
from tests.tiny import tiny_space

runner = CliRunner()


def _record(number: int, state: str = "COMPLETE", value: float | None = None, **params: object) -> TrialRecord:
    return TrialRecord(number, state, value, params)


def _ran(seconds: float) -> dict[str, Any]:
    """A trial's start and end, as Optuna records them: ``seconds`` apart."""
    started = datetime(2025, 1, 1, 12, 0)
    return {"started": started, "completed": started + timedelta(seconds=seconds)}


def _epochs(count: int) -> dict[int, float]:
    """Intermediate values of a trial that reported ``count`` epochs (a pruned trial's stopping epoch)."""
    return dict.fromkeys(range(count), 0.1)


def test_parameter_table_means_per_value() -> None:
    records = [
        TrialRecord(0, "COMPLETE", 0.7, {"batch_size": 8},
                    {"train_accuracy": 0.9, "val_accuracy": 0.8, "early_stopping_epoch": 6}, **_ran(100.0)),
        TrialRecord(1, "COMPLETE", 0.5, {"batch_size": 8},
                    {"train_accuracy": 0.7, "val_accuracy": 0.6, "early_stopping_epoch": None}, **_ran(120.0)),
        TrialRecord(2, "PRUNED", None, {"batch_size": 8}, **_ran(10.0)),
        TrialRecord(3, "COMPLETE", 0.9, {"batch_size": 16},
                    {"train_accuracy": 0.95, "val_accuracy": 0.9}, **_ran(60.0)),
        TrialRecord(4, "FAIL", None, {"batch_size": 32}),
    ]  # fmt: skip

    table = parameter_table(records, "batch_size")

    assert not table.binned
    assert [row.label for row in table.rows] == ["8", "16"]  # the failed trial's 32 is not a result
    eight = table.rows[0]
    # Means over the two completed trials; the pruned one is counted, not averaged.
    assert (eight.trials, eight.pruned, eight.completed) == (3, 1, 2)
    assert eight.train_accuracy == pytest.approx(0.8)  # (0.9 + 0.7) / 2
    assert eight.val_accuracy == pytest.approx(0.7)  # (0.8 + 0.6) / 2
    assert eight.dice == pytest.approx(0.6)  # (0.7 + 0.5) / 2
    assert eight.wall_time_s == pytest.approx(110.0)  # (100 + 120) / 2, not the pruned 10
    assert (eight.early_stopping_epoch, eight.early_stopped) == (6.0, 1)
    sixteen = table.rows[1]
    assert (sixteen.trials, sixteen.dice, sixteen.early_stopping_epoch, sixteen.early_stopped) == (1, 0.9, None, 0)


def test_quantile_bins() -> None:
    # Quartiles of 1..8 by linear interpolation: positions 0, 1.75, 3.5, 5.25, 7.
    assert quantile_bins([1, 2, 3, 4, 5, 6, 7, 8], 4) == pytest.approx([1.0, 2.75, 4.5, 6.25, 8.0])
    # Quartiles of 1, 1, 1, 5 are 1, 1, 1, 2, 5: the repeated edges merge into three edges.
    assert quantile_bins([1, 1, 1, 5], 4) == pytest.approx([1.0, 2.0, 5.0])
    assert quantile_bins([3, 3, 3], 4) == [3.0, 3.0]
    with pytest.raises(ValueError, match="but got 0"):
        quantile_bins([1.0], 0)


def test_numbers_with_many_values_are_binned() -> None:
    records = [_record(i, value=i / 10, learning_rate=float(i)) for i in range(1, 9)]

    table = parameter_table(records, "learning_rate", max_categories=5, n_bins=4)

    assert table.binned
    assert [row.label for row in table.rows] == ["[1, 2.75)", "[2.75, 4.5)", "[4.5, 6.25)", "[6.25, 8]"]
    assert [row.trials for row in table.rows] == [2, 2, 2, 2]
    # Bins hold 1-2, 3-4, 5-6 and 7-8, so mean DICE is 0.15, 0.35, 0.55, 0.75.
    assert [row.dice for row in table.rows] == pytest.approx([0.15, 0.35, 0.55, 0.75])


def test_trials_without_a_conditional_parameter_get_their_own_row() -> None:
    records = [
        _record(0, value=0.5, augment=True, rotation=90.0),
        _record(1, value=0.7, augment=True, rotation=180.0),
        _record(2, value=0.2, augment=False),
    ]

    table = parameter_table(records, "rotation")

    assert [(row.label, row.dice) for row in table.rows] == [("90", 0.5), ("180", 0.7), (NOT_SAMPLED, 0.2)]


def test_tuned_parameters_vary_among_finished_trials_in_space_order() -> None:
    records = [
        _record(0, value=0.5, loss="bce", batch_size=8, image_size=32),
        _record(1, "PRUNED", loss="dice", batch_size=16, image_size=32),
        _record(2, "FAIL", loss="bce", batch_size=8, image_size=64),  # failed: its 64 does not count
    ]

    assert tuned_parameters(records) == ["batch_size", "loss"]
    assert tuned_parameters(records, states=("COMPLETE",)) == []


def test_pruning_savings_on_a_hand_example() -> None:
    records = [
        TrialRecord(0, "COMPLETE", 0.8, {"max_epochs": 10}, {"epochs_run": 10}),
        TrialRecord(1, "COMPLETE", 0.7, {"max_epochs": 20}, {"epochs_run": 8}),  # early stopping at 8
        TrialRecord(2, "PRUNED", None, {"max_epochs": 20}, intermediate=_epochs(5)),
        TrialRecord(3, "PRUNED", None, {}, intermediate=_epochs(2)),  # max_epochs fixed at 10
        TrialRecord(4, "FAIL", None, {"max_epochs": 20}),
    ]

    savings = pruning_savings(records, default_max_epochs=10)

    # Saved (20 - 5) + (10 - 2) = 23 epochs of 10 + 8 + 20 + 10 = 48 unpruned.
    assert (savings.pruned_trials, savings.epochs_saved, savings.epochs_unpruned) == (2, 23, 48)
    assert savings.share == pytest.approx(23 / 48)
    unknown = pruning_savings(records, default_max_epochs=None)
    assert (unknown.epochs_saved, unknown.unknown) == (15, 1)


def test_the_table_of_runs_lists_completed_trials_best_first_in_the_researchers_terms() -> None:
    attrs = {"epochs_run": 7, "train_accuracy": 0.91, "val_accuracy": 0.9, "early_stopping_epoch": 7}
    records = [
        TrialRecord(0, "COMPLETE", 0.81, {"batch_size": 8, "augment": False}, {"epochs_run": 10}, **_ran(60)),
        TrialRecord(1, "COMPLETE", 0.93, {"batch_size": 16, "rotation": 90.0, "width_shift": 0.3}, attrs, **_ran(30)),
        TrialRecord(2, "PRUNED", None, {"batch_size": 32}, intermediate={0: 0.4, 1: 0.45}),
        TrialRecord(3, "FAIL", None, {"batch_size": 32}),
    ]
    fixed = {"max_epochs": 10, "height_shift": 0.3, "shear": 0.0, "vertical_flip": True, "augment": True}

    rows = run_rows(records, fixed)

    assert [row[0] for row in rows] == ["#1", "#0"]  # completed only, highest DICE first
    assert rows[0] == ("#1", "16", "7 of 10", "rotation 90, shift 0.3, flips V", "0.910", "0.900", "0.9300",
                       "30.0", "7")  # fmt: skip
    assert rows[1][2:4] == ("10 of 10", "off") and rows[1][-1] == "–"
    assert (
        pruned_summary(records)
        == "1 pruned trial(s), stopped when they trailed the others: #2 after 2 epoch(s) at DICE 0.450."
    )
    assert pruned_summary(records[:2]) is None


def test_renderers_escape_text_and_note_missing_images() -> None:
    report = StudyReport(
        study_name="<lungs|v2>",
        generated="today",
        summary=("Best: trial 1.",),
        setup=(("Study", "<lungs|v2>"),),
        space=(("batch_size", "one of 8, 16", "images per batch", "yes"),),
        tables=(),
        importances={},
        plots=(ReportImage("history.png", "Optimisation history", None, "No trial has completed yet."),),
        predictions=(),
    )

    page = render_html(report)
    markdown = render_markdown(report)

    assert "&lt;lungs|v2&gt;" in page and "<lungs" not in page
    assert "No trial has completed yet." in page and "<img" not in page
    assert r"<lungs\|v2>" in markdown and "](history.png)" not in markdown


def test_plots_are_pngs() -> None:
    records = [
        TrialRecord(0, "COMPLETE", 0.6, intermediate={0: 0.3, 1: 0.6}),
        TrialRecord(1, "PRUNED", None, intermediate={0: 0.1}),
    ]
    for png in (intermediate_curves_png(records), importances_png({"batch_size": 0.7, "loss": 0.3})):
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG"


# One real study for the rest: three trained trials, then one pruned and one failed by hand.


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("report")
    storage, artifacts = f"sqlite:///{folder / 'studies.db'}", folder / "artifacts"
    spec, _ = make_spec(parse_source("synthetic:12"), tiny_space(), n_trials=3, val_fraction=0.25)
    handle = create_study(storage, "tiny", spec)
    assert run_trials(handle, artifacts) == 3
    first = handle.study.trials[0]
    # Trials made whole, not asked for: this storage's heartbeat warns about ask() outside optimize.
    pruned = optuna.trial.create_trial(
        state=optuna.trial.TrialState.PRUNED,
        params=first.params,
        distributions=first.distributions,
        intermediate_values={0: 0.01},  # pruned after its first epoch
    )
    handle.study.add_trials([pruned, optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL)])
    return storage, artifacts


@pytest.fixture(scope="module")
def written(tiny_study: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The report of the tiny study, written once by the command: its folder, HTML and Markdown."""
    storage, artifacts = tiny_study
    out = tmp_path_factory.mktemp("written")
    result = runner.invoke(
        app, ["report", "tiny", "--storage", storage, "--out", str(out), "--artifacts", str(artifacts)]
    )
    assert result.exit_code == 0, result.output
    assert str(out / "report.html") in result.output and str(out / "report.md") in result.output
    return out, (out / "report.html").read_text(encoding="utf-8"), (out / "report.md").read_text(encoding="utf-8")


def test_report_command_writes_html_and_markdown(written: tuple[Path, str, str]) -> None:
    _, page, markdown = written

    for text in (page, markdown):
        assert "Study tiny" in text
        assert "3 complete, 1 pruned, 1 failed" in text
        assert "learning_rate: Adam learning rate" in text  # sampled from a log range, so it varies
        # max_epochs is fixed at 2: the pruned trial saved 2 - 1 = 1 of 3 * 2 + 2 = 8 epochs.
        assert "saved 1 of 8 epochs (12%)" in text
        assert "need at least 5 completed trials" in text  # importances are skipped with a note
        assert "Predictions of the best trial" in text and "Predictions of the worst trial" in text
        assert "cpu (float32): 3 trials" in text  # where they trained (the pruned one was added by hand)
    assert page.count("<img ") == 5  # history, epochs, parallel coordinates, best and worst predictions
    for text in (page, markdown):  # results first: runs, their pictures, then analysis and setup
        order = [text.index(heading) for heading in ("Runs", "Predictions of the best", "Results by parameter",
                                                     "Optimisation", "Search space")]  # fmt: skip
        assert order == sorted(order)
        assert "1 pruned trial(s), stopped when they trailed the others: #3 after 1 epoch(s) at DICE 0.010." in text
    runs = page[page.index("<h2>Runs</h2>") : page.index("<h2>Predictions</h2>")]
    assert runs.count("<tr>") == 1 + 3  # the header and one row per completed trial


def test_html_loads_nothing_from_elsewhere(written: tuple[Path, str, str]) -> None:
    _, page, _ = written

    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "http://" not in page and "https://" not in page
    assert all(source.startswith("data:image/png;base64,") for source in re.findall(r'src="([^"]*)"', page))
    for tag in ("<script", "<link", "<iframe", "@import", "url("):
        assert tag not in page.lower()


def test_markdown_images_are_pngs_beside_it(written: tuple[Path, str, str]) -> None:
    out, _, markdown = written

    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert "predictions-best.png" in linked and "history.png" in linked
    for name in linked:
        with Image.open(out / name) as image:
            assert image.format == "PNG"


def test_missing_artifacts_leave_a_note(tiny_study: tuple[str, Path], tmp_path: Path) -> None:
    storage, _ = tiny_study
    out, nowhere = tmp_path / "out", tmp_path / "nowhere"

    result = runner.invoke(
        app, ["report", "tiny", "--storage", storage, "--out", str(out), "--artifacts", str(nowhere)]
    )

    assert result.exit_code == 0, result.output
    assert "does not exist; pass --artifacts" in (out / "report.html").read_text(encoding="utf-8")
    assert "does not exist; pass --artifacts" in (out / "report.md").read_text(encoding="utf-8")
    assert not (out / "predictions-best.png").exists()
    assert not nowhere.exists()  # reading a report creates no artifact folder


def test_unknown_study_or_storage_is_one_clear_line(tiny_study: tuple[str, Path], tmp_path: Path) -> None:
    storage, _ = tiny_study
    result = runner.invoke(app, ["report", "nope", "--storage", storage, "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "no study named 'nope'" in result.output and "Traceback" not in result.output

    typo = tmp_path / "typo.db"
    result = runner.invoke(app, ["report", "tiny", "--storage", f"sqlite:///{typo}", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "no storage at" in result.output
    assert not typo.exists()  # a report reads; it creates no database


def test_storage_password_is_masked(tiny_study: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import hpo.results.export
    import hpo.results.studies

    storage, artifacts = tiny_study
    read, uploaded = hpo.results.studies.read_study, hpo.results.export.artifact_ids
    monkeypatch.setattr(hpo.results.studies, "read_study", lambda url, name: read(storage, name))
    monkeypatch.setattr(
        hpo.results.export, "artifact_ids", lambda study, url, numbers=None: uploaded(study, storage, numbers)
    )

    report = build_report("postgresql+psycopg2://hpo:hunter2@db.example/hpo", "tiny", artifacts)

    assert ("Storage", "postgresql+psycopg2://hpo:***@db.example/hpo") in report.setup
    assert "hunter2" not in render_html(report) + render_markdown(report)


def test_factor_tables_put_the_baseline_first_in_each_factor() -> None:
    def labelled(number: int, factor: str, setting: str, dice: float, stop: int | None = None) -> TrialRecord:
        attrs = {"factor": factor, "setting": setting, "train_accuracy": 0.9, "val_accuracy": 0.8,
                 "early_stopping_epoch": stop}  # fmt: skip
        return TrialRecord(number, "COMPLETE", dice, {}, attrs, **_ran(50.0 + number))

    records = [
        labelled(0, "baseline", "batch 8", 0.94),
        labelled(1, "batch size", "32", 0.90),
        labelled(2, "batch size", "16", 0.92),
        labelled(3, "epochs", "20 (early stopping)", 0.95, stop=14),
        TrialRecord(4, "FAIL", None, {}, {"factor": "epochs", "setting": "5"}),  # failed: no row
        _record(5, value=0.5, batch_size=8),  # an unlabelled trial is not part of the tables
    ]

    tables = factor_tables(records)

    assert [table.name for table in tables] == ["batch size", "epochs"]
    batch = tables[0]
    assert [row.label for row in batch.rows] == ["baseline: batch 8", "32", "16"]
    assert [row.dice for row in batch.rows] == [0.94, 0.90, 0.92]
    epochs = tables[1]
    assert [row.label for row in epochs.rows] == ["baseline: batch 8", "20 (early stopping)"]
    assert epochs.rows[1].early_stopping_epoch == 14
    assert factor_tables([_record(0, value=0.5, batch_size=8)]) == ()
