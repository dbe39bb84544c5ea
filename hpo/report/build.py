"""A study's report, from its storage to files: the report's only reading and writing.

`build_report` reads a study, its spec, Optuna's importances and the best and worst trials'
prediction figures into a `StudyReport`; `write_report` writes it as HTML and Markdown with the
PNGs the Markdown links to. What the report says comes from `hpo.report.analysis`, its plots
from `hpo.report.plots` and its text from `hpo.report.render`.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.report import plots
from hpo.report.analysis import (
    counts,
    factor_tables,
    format_value,
    parameter_table,
    pruned_summary,
    pruning_savings,
    run_rows,
    summary,
    tuned_parameters,
    worst,
)
from hpo.report.render import IMPORTANCES_PNG, ReportImage, StudyReport, render_html, render_markdown
from hpo.results import studies
from hpo.results.records import COMPLETE, TrialRecord, best, records_of
from hpo.study.finalize import load_final_score
from hpo.study.spec import StudySpec, load_spec
from objectives.space import PARAMETERS, Choice, Distribution, Fixed, FloatRange, SearchSpace

if TYPE_CHECKING:
    import optuna

__all__ = ["MIN_IMPORTANCE_TRIALS", "build_report", "report_study", "write_report"]

MIN_IMPORTANCE_TRIALS = 5  # completed trials below which importances are noise
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _describe(distribution: Distribution) -> str:
    if isinstance(distribution, Fixed):
        return f"fixed {format_value(distribution.value)}"
    if isinstance(distribution, Choice):
        return "one of " + ", ".join(format_value(value) for value in distribution.values)
    scale = ", log scale" if distribution.log else ""
    kind = "float" if isinstance(distribution, FloatRange) else "integer"
    step = f", step {distribution.step}" if not isinstance(distribution, FloatRange) and distribution.step != 1 else ""
    return f"{kind} {format_value(distribution.low)} to {format_value(distribution.high)}{scale}{step}"


def _fixed_int(space: SearchSpace, name: str) -> int | None:
    distribution = space.distributions[name]
    return int(distribution.value) if isinstance(distribution, Fixed) else None


def _setup(
    spec: StudySpec, records: Sequence[TrialRecord], storage_url: str, name: str, artifact_dir: Path
) -> tuple[tuple[str, str], ...]:
    """The setting/value rows of the report's setup table."""
    from storage import mask_url

    rows = [
        ("Study", name),
        ("Storage", mask_url(storage_url)),
        ("Artifacts", str(artifact_dir)),
        ("Data", mask_url(str(spec.data))),
        (
            "Split",
            f"{spec.split_text()} (validation fraction {spec.val_fraction:g}, seed {spec.seed})",
        ),
        ("Sampler", f"{spec.sampler} (seed {spec.seed})"),
        ("Pruner", spec.pruner),
        ("Budget", f"{spec.n_trials} finished trials"),
        ("Trials", counts(records)),
    ]
    if spec.preset:
        rows.insert(3, ("Preset", spec.preset))
    completed = [record for record in records if record.state == COMPLETE]
    versions = next((record.attrs for record in reversed(completed) if "keras_version" in record.attrs), {})
    if versions:
        software = (
            f"Keras {versions.get('keras_version')} ({versions.get('keras_backend')}), "
            f"Optuna {versions.get('optuna_version')}, Python {versions.get('python_version')}"
        )
        rows.append(("Software", software))
    trained_on = _devices(records)
    if trained_on:
        rows.append(("Trained on", trained_on))
    return tuple(rows)


def _devices(records: Sequence[TrialRecord]) -> str:
    """Where the finished trials trained, with their precision: one entry per device, most trials first."""
    counts = Counter(
        f"{record.attrs['device']} ({record.attrs.get('precision', 'float32')})"
        for record in records
        if record.finished and "device" in record.attrs
    )
    return "; ".join(f"{where}: {count} trial{'s' if count > 1 else ''}" for where, count in counts.most_common())


def _space(spec: StudySpec, tuned: Sequence[str]) -> tuple[tuple[str, str, str, str], ...]:
    """Every parameter of the space: its distribution, meaning and whether it varied."""
    return tuple(
        (
            definition.name,
            _describe(spec.space.distributions[definition.name]),
            definition.help + (" (only with augmentation on)" if definition.augmentation else ""),
            "yes" if definition.name in tuned else "",
        )
        for definition in PARAMETERS
    )


def _importances(study: optuna.Study, params: Sequence[str], completed: int) -> tuple[dict[str, float], str]:
    """Optuna's parameter importances (PED-ANOVA) for ``params``, or an empty dict and the reason."""
    if len(params) < 2:
        return {}, f"Parameter importances need at least two tuned parameters; this study varied {len(params)}."
    if completed < MIN_IMPORTANCE_TRIALS:
        return {}, (
            f"Parameter importances need at least {MIN_IMPORTANCE_TRIALS} completed trials; this study has {completed}."
        )
    import optuna

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            importances = optuna.importance.get_param_importances(study, params=list(params))
        except (ValueError, RuntimeError) as error:
            return {}, f"Optuna could not compute parameter importances: {error}"
    note = "PED-ANOVA importances from Optuna over the completed trials."
    if caught:
        note += " Optuna warned: " + " ".join(str(warning.message) for warning in caught)
    return importances, note


def _plot(
    file_name: str, title: str, note: str, missing: str | None, draw: Callable[..., bytes], *args: Any
) -> ReportImage:
    """Draws one plot unless it is ``missing`` (and why); a failure becomes a note, not a lost report."""
    if missing is not None:
        return ReportImage(file_name, title, None, missing)
    try:
        return ReportImage(file_name, title, draw(*args), note)
    except (ValueError, RuntimeError) as error:
        return ReportImage(file_name, title, None, f"Could not draw this plot: {error}")


def _plots(
    study: optuna.Study, records: Sequence[TrialRecord], importances: Mapping[str, float], importance_note: str
) -> tuple[ReportImage, ...]:
    completed = sum(record.state == COMPLETE for record in records)
    tuned = tuned_parameters(records, states=(COMPLETE,))
    # An axis for a parameter some trials never sampled (augmentation ranges of runs without
    # augmentation) would label those trials "None"; such parameters are left out of the plot.
    sampled_by_all = [name for name in tuned if all(name in r.params for r in records if r.state == COMPLETE)]
    left_out = sorted(set(tuned) - set(sampled_by_all))
    parallel_note = "Each line is a completed trial, coloured by validation DICE." + (
        f" Left out, as not every trial sampled them: {', '.join(left_out)}." if left_out else ""
    )
    return (
        _plot(
            "history.png",
            "Optimisation history",
            "Validation DICE of each completed trial and the best so far.",
            None if completed else "No trial has completed yet.",
            plots.optimization_history_png,
            study,
        ),
        _plot(
            "intermediate.png",
            "Validation DICE per epoch",
            "Completed trials in colour; pruned trials dashed grey, with a red cross where the pruner stopped them.",
            None if any(record.intermediate for record in records) else "No trial reported an epoch yet.",
            plots.intermediate_curves_png,
            records,
        ),
        _plot(
            IMPORTANCES_PNG,
            "Parameter importances",
            importance_note,
            None if importances else importance_note,
            plots.importances_png,
            importances,
        ),
        _plot(
            "parallel.png",
            "Parallel coordinates",
            parallel_note,
            None
            if completed >= 2 and sampled_by_all
            else "Needs at least two completed trials and a parameter that they all sampled and that varied.",
            plots.parallel_coordinate_png,
            study,
            sampled_by_all,
        ),
    )


def _prediction(artifact_dir: Path, figures: Mapping[int, str], record: TrialRecord | None, role: str) -> ReportImage:
    """The prediction figure ``record``'s trial uploaded (``figures``: trial number to artifact id)."""
    from optuna.artifacts.exceptions import ArtifactNotFound

    from storage import open_artifact_store

    file_name, title = f"predictions-{role}.png", f"Predictions of the {role} trial"
    if record is None:
        return ReportImage(file_name, title, None, "No completed trial, so no predictions to show.")
    title += f" (trial {record.number}, DICE {record.value:.4f})"
    artifact_id = figures.get(record.number)
    if artifact_id is None:
        return ReportImage(file_name, title, None, f"Trial {record.number} uploaded no prediction figure.")
    if not artifact_dir.is_dir():
        return ReportImage(
            file_name, title, None, f"The artifact folder {str(artifact_dir)!r} does not exist; pass --artifacts."
        )
    try:
        with open_artifact_store(artifact_dir).open_reader(artifact_id) as reader:
            png = reader.read()
    except (ArtifactNotFound, ValueError, OSError):
        return ReportImage(
            file_name, title, None, f"The prediction figure {artifact_id} is not in {str(artifact_dir)!r}."
        )
    if not png.startswith(_PNG_SIGNATURE):
        return ReportImage(file_name, title, None, f"The prediction figure {artifact_id} is not a PNG file.")
    return ReportImage(file_name, title, png, "Each row: X-ray, ground truth (green), prediction (red).")


def _predictions(
    study: optuna.Study, storage_url: str, artifact_dir: Path, records: Sequence[TrialRecord]
) -> tuple[ReportImage, ...]:
    """The best trial's prediction figure, and the worst's when it is another trial."""
    from hpo.results import export
    from objectives.objective import FIGURE_ARTIFACT

    top, bottom = best(records), worst(records)
    shown_trials = {record.number for record in (top, bottom) if record is not None}
    uploaded = export.artifact_ids(study, storage_url, shown_trials)
    figures = {number: files[FIGURE_ARTIFACT] for number, files in uploaded.items() if FIGURE_ARTIFACT in files}
    shown = [_prediction(artifact_dir, figures, top, "best")]
    if top is not None and bottom is not None and bottom.number != top.number:
        shown.append(_prediction(artifact_dir, figures, bottom, "worst"))
    return tuple(shown)


def build_report(storage_url: str, name: str, artifact_dir: Path) -> StudyReport:
    """Reads a study, its spec and its best and worst trials' figures into a `StudyReport`.

    Args:
        storage_url: Optuna storage URL (see `storage.open_storage`).
        name: the study's name.
        artifact_dir: the study's artifact folder, where the prediction figures are.
    """
    study = studies.read_study(storage_url, name)  # read only: no sampler, and no empty database left behind
    spec = load_spec(study)
    records = records_of(study)
    tuned = tuned_parameters(records)
    tables = tuple(parameter_table(records, parameter) for parameter in tuned)
    savings = pruning_savings(records, _fixed_int(spec.space, "max_epochs"))
    completed = sum(record.state == COMPLETE for record in records)
    importances, importance_note = _importances(study, tuned_parameters(records, states=(COMPLETE,)), completed)
    return StudyReport(
        study_name=name,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        summary=(*_final_lines(study, spec), *summary(records, tables, savings, spec.pruner)),
        setup=_setup(spec, records, storage_url, name, artifact_dir),
        space=_space(spec, tuned),
        tables=tables,
        importances=importances,
        plots=_plots(study, records, importances, importance_note),
        predictions=_predictions(study, storage_url, artifact_dir, records),
        factors=factor_tables(records),
        runs=run_rows(records, spec.space.fixed_values()),
        pruned=pruned_summary(records),
    )


def write_report(report: StudyReport, out_dir: Path) -> list[Path]:
    """Writes ``report.html``, ``report.md`` and the PNGs the Markdown links to into ``out_dir``.

    Returns:
        The paths written, the HTML first.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create the report folder {str(out_dir)!r}: {error.strerror}") from None
    written = [out_dir / "report.html", out_dir / "report.md"]
    written[0].write_text(render_html(report), encoding="utf-8")
    written[1].write_text(render_markdown(report), encoding="utf-8")
    for image in (*report.plots, *report.predictions):
        if image.png is not None:
            path = out_dir / image.file_name
            path.write_bytes(image.png)
            written.append(path)
    return written


def report_study(storage_url: str, name: str, artifact_dir: Path, out_dir: Path) -> list[Path]:
    """Builds a study's report and writes it to ``out_dir`` (see `build_report`, `write_report`).

    Args:
        storage_url: Optuna storage URL of the study.
        name: the study's name.
        artifact_dir: the study's artifact folder, where the prediction figures are.
        out_dir: the folder for ``report.html``, ``report.md`` and its PNGs; it is created.
    """
    return write_report(build_report(storage_url, name, artifact_dir), out_dir)


def _final_lines(study: optuna.Study, spec: StudySpec) -> tuple[str, ...]:
    """The honest score first: the locked test set's, or why there is none."""
    final = load_final_score(study)
    if final is not None:
        return (f"Final score: {final.summary()}.",)
    if not spec.split.test:
        return ("This study has no locked test set: every DICE below is a validation score, and optimistic.",)
    return (
        f"No final score yet: `hpo study finalize {study.study_name}` retrains the best configuration and scores "
        f"it on the {len(spec.split.test)} locked test images. DICE below is measured on validation images.",
    )
