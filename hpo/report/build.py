"""A study's write-up: setup, one table per tuned parameter, plots and predictions.

`build_report` reads a study into a `StudyReport`; `render_html` and `render_markdown` turn it
into text and `write_report` puts both on disk with the PNGs the Markdown links to. The tables and
the pruning arithmetic are pure functions of `TrialRecord`s, tested on hand-made records; the
plots come from `hpo.report.plots`.

The HTML stands alone: images are ``data:`` URIs, CSS is inline, fonts are the system's, and a
Content-Security-Policy forbids loading anything else, so it opens offline and can be mailed.
"""

from __future__ import annotations

import base64
import bisect
import html
import statistics
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from objectives.space import PARAMETERS, Choice, Distribution, Fixed, FloatRange, SearchSpace

if TYPE_CHECKING:
    import optuna

__all__ = [
    "MIN_IMPORTANCE_TRIALS",
    "NOT_SAMPLED",
    "ParameterTable",
    "PruningSavings",
    "ReportImage",
    "StudyReport",
    "TableRow",
    "TrialRecord",
    "build_report",
    "factor_tables",
    "parameter_table",
    "pruning_savings",
    "quantile_bins",
    "records_from_study",
    "render_html",
    "render_markdown",
    "report_study",
    "tuned_parameters",
    "write_report",
]

COMPLETE, PRUNED, FAIL = "COMPLETE", "PRUNED", "FAIL"
_FINISHED = (COMPLETE, PRUNED)
NOT_SAMPLED = "not sampled"  # row of trials that never sampled a conditional parameter
MIN_IMPORTANCE_TRIALS = 5  # completed trials below which importances are noise
_MAX_CATEGORIES = 5  # numeric parameters with more distinct values than this are binned
_BINS = 4
_ORDER = {definition.name: index for index, definition in enumerate(PARAMETERS)}
_HELP = {definition.name: definition.help for definition in PARAMETERS}


@dataclass(frozen=True)
class TrialRecord:
    """What the report needs of one trial; `records_from_study` reads them from a study."""

    number: int
    state: str  # an Optuna TrialState name: COMPLETE, PRUNED, FAIL, RUNNING or WAITING
    value: float | None = None  # validation DICE of a completed trial
    params: Mapping[str, Any] = field(default_factory=dict)
    attrs: Mapping[str, Any] = field(default_factory=dict)  # the trial's user attributes
    intermediate: Mapping[int, float] = field(default_factory=dict)  # epoch index -> validation DICE


@dataclass(frozen=True)
class TableRow:
    """One value (or bin) of a parameter; means are over its completed trials."""

    label: str
    trials: int  # finished trials: completed and pruned
    pruned: int
    train_accuracy: float | None
    val_accuracy: float | None
    dice: float | None
    wall_time_s: float | None
    early_stopping_epoch: float | None  # mean over the completed trials that stopped early
    early_stopped: int  # completed trials that early stopping ended

    @property
    def completed(self) -> int:
        return self.trials - self.pruned


@dataclass(frozen=True)
class ParameterTable:
    """A parameter's values (or bins of them) against the results of the trials that used them."""

    name: str
    binned: bool
    rows: tuple[TableRow, ...]


@dataclass(frozen=True)
class PruningSavings:
    """Epochs that pruning spared, against what the finished trials would have run without it."""

    pruned_trials: int
    epochs_saved: int
    epochs_unpruned: int  # completed trials' epochs run plus pruned trials' max_epochs
    unknown: int = 0  # pruned trials left out: their max_epochs or stopping epoch is unknown

    @property
    def share(self) -> float:
        return self.epochs_saved / self.epochs_unpruned if self.epochs_unpruned else 0.0


@dataclass(frozen=True)
class ReportImage:
    """A PNG of the report, or the reason it is missing."""

    file_name: str  # beside report.md
    title: str
    png: bytes | None
    note: str = ""  # a caption, or why there is no image


@dataclass(frozen=True)
class StudyReport:
    """Everything the HTML and Markdown show, already formatted where it is text."""

    study_name: str
    generated: str
    summary: tuple[str, ...]
    setup: tuple[tuple[str, str], ...]
    space: tuple[tuple[str, str, str, str], ...]  # parameter, distribution, meaning, tuned
    tables: tuple[ParameterTable, ...]
    importances: Mapping[str, float]
    plots: tuple[ReportImage, ...]
    predictions: tuple[ReportImage, ...]
    factors: tuple[ParameterTable, ...] = ()  # one-factor-at-a-time tables (the seed preset)


def records_from_study(study: optuna.Study) -> list[TrialRecord]:
    """Every trial of ``study`` as a `TrialRecord`, in trial-number order."""
    return [
        TrialRecord(
            number=trial.number,
            state=trial.state.name,
            value=trial.value,
            params=dict(trial.params),
            attrs=dict(trial.user_attrs),
            intermediate=dict(trial.intermediate_values),
        )
        for trial in study.get_trials(deepcopy=False)
    ]


def tuned_parameters(records: Sequence[TrialRecord], states: Sequence[str] = _FINISHED) -> list[str]:
    """Parameters that took at least two values among the trials in ``states``, in the space's order."""
    seen: dict[str, set[Any]] = {}
    for record in records:
        if record.state in states:
            for name, value in record.params.items():
                seen.setdefault(name, set()).add(value)
    tuned = [name for name, values in seen.items() if len(values) > 1]
    return sorted(tuned, key=lambda name: (_ORDER.get(name, len(_ORDER)), name))


def quantile_bins(values: Sequence[float], n_bins: int = _BINS) -> list[float]:
    """Edges of up to ``n_bins`` bins holding about equally many of ``values``.

    Quantile bins suit log-scaled parameters such as the learning rate as well as linear ones.
    Edges that coincide (repeated values) are merged, so fewer bins may come back. Each bin
    includes its lower edge; the last also includes its upper edge.

    Returns:
        Ascending edges: ``k + 1`` of them for ``k`` bins.
    """
    import numpy as np

    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, but got {n_bins!r}")
    if not values:
        raise ValueError("cannot bin an empty list of values")
    quantiles = np.quantile(np.asarray(values, dtype=float), np.linspace(0.0, 1.0, n_bins + 1))
    edges: list[float] = []
    for edge in quantiles.tolist():
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges if len(edges) > 1 else [edges[0], edges[0]]


def _bin_index(edges: Sequence[float], value: float) -> int:
    return min(max(bisect.bisect_right(edges, value) - 1, 0), len(edges) - 2)


def _bin_label(edges: Sequence[float], index: int) -> str:
    closing = "]" if index == len(edges) - 2 else ")"
    return f"[{edges[index]:.3g}, {edges[index + 1]:.3g}{closing}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _row(label: str, group: Sequence[TrialRecord]) -> TableRow:
    completed = [record for record in group if record.state == COMPLETE]

    def mean_of(key: str) -> float | None:
        return _mean([float(record.attrs[key]) for record in completed if record.attrs.get(key) is not None])

    stopped = [
        float(record.attrs["early_stopping_epoch"])
        for record in completed
        if record.attrs.get("early_stopping_epoch") is not None
    ]
    return TableRow(
        label=label,
        trials=len(group),
        pruned=sum(record.state == PRUNED for record in group),
        train_accuracy=mean_of("train_accuracy"),
        val_accuracy=mean_of("val_accuracy"),
        dice=_mean([record.value for record in completed if record.value is not None]),
        wall_time_s=mean_of("wall_time_s"),
        early_stopping_epoch=_mean(stopped),
        early_stopped=len(stopped),
    )


def parameter_table(
    records: Sequence[TrialRecord],
    name: str,
    max_categories: int = _MAX_CATEGORIES,
    n_bins: int = _BINS,
) -> ParameterTable:
    """Results of the finished trials grouped by their value of parameter ``name``.

    Numbers with more than ``max_categories`` distinct values are grouped into quantile bins
    (`quantile_bins`), anything else by value. Finished trials that never sampled the parameter
    (augmentation settings when augmentation was off) form a last row, `NOT_SAMPLED`.

    Args:
        records: the study's trials; only completed and pruned ones are counted.
        name: a parameter name.
        max_categories: most distinct numbers shown one per row.
        n_bins: bins at most for numbers beyond that.
    """
    finished = [record for record in records if record.state in _FINISHED]
    present = [record for record in finished if name in record.params]
    values = [record.params[name] for record in present]
    distinct = set(values)
    groups: list[tuple[str, list[TrialRecord]]] = []
    binned = bool(values) and all(_is_number(value) for value in values) and len(distinct) > max_categories
    if binned:
        edges = quantile_bins([float(value) for value in values], n_bins)
        buckets: list[list[TrialRecord]] = [[] for _ in range(len(edges) - 1)]
        for record in present:
            buckets[_bin_index(edges, float(record.params[name]))].append(record)
        groups = [(_bin_label(edges, index), bucket) for index, bucket in enumerate(buckets) if bucket]
    else:
        try:
            ordered = sorted(distinct)
        except TypeError:  # mixed types, e.g. a parameter redefined between runs
            ordered = sorted(distinct, key=repr)
        groups = [(_format_value(value), [r for r in present if r.params[name] == value]) for value in ordered]
    missing = [record for record in finished if name not in record.params]
    if missing:
        groups.append((NOT_SAMPLED, missing))
    return ParameterTable(name, binned, tuple(_row(label, group) for label, group in groups))


BASELINE_FACTOR = "baseline"


def factor_tables(records: Sequence[TrialRecord]) -> tuple[ParameterTable, ...]:
    """The researchers' one-factor-at-a-time tables, from trials labelled ``factor``/``setting``.

    Each factor gets a table whose first row is the baseline and whose other rows are the
    trials that changed that factor alone, one per setting, in the order they were enqueued.
    Studies without such labels (or with a baseline only) get none.
    """
    finished = sorted((r for r in records if r.state in _FINISHED and "factor" in r.attrs), key=lambda r: r.number)
    baseline = [record for record in finished if record.attrs["factor"] == BASELINE_FACTOR]
    factors: dict[str, list[TrialRecord]] = {}
    for record in finished:
        if record.attrs["factor"] != BASELINE_FACTOR:
            factors.setdefault(str(record.attrs["factor"]), []).append(record)
    tables = []
    for factor, trials in factors.items():
        rows = [_row(f"{BASELINE_FACTOR}: {baseline[0].attrs.get('setting', '')}", baseline)] if baseline else []
        rows += [_row(str(record.attrs.get("setting", record.number)), [record]) for record in trials]
        tables.append(ParameterTable(factor, False, tuple(rows)))
    return tuple(tables)


def pruning_savings(records: Sequence[TrialRecord], default_max_epochs: int | None = None) -> PruningSavings:
    """How many epochs pruning saved: each pruned trial's ``max_epochs`` minus the epochs it ran.

    The share is of the epochs the finished trials would have run unpruned: what each completed
    trial ran (early stopping included) plus each pruned trial's ``max_epochs``.

    Args:
        records: the study's trials.
        default_max_epochs: ``max_epochs`` of trials that did not sample it (a fixed value).
    """
    saved = unpruned = pruned = unknown = 0
    for record in records:
        if record.state == COMPLETE:
            unpruned += int(record.attrs.get("epochs_run", len(record.intermediate)))
        elif record.state == PRUNED:
            pruned += 1
            max_epochs = record.params.get("max_epochs", default_max_epochs)
            ran = record.attrs.get("pruned_at_epoch", len(record.intermediate) or None)
            if max_epochs is None or ran is None:
                unknown += 1
                continue
            saved += max(int(max_epochs) - int(ran), 0)
            unpruned += int(max_epochs)
    return PruningSavings(pruned, saved, unpruned, unknown)


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _describe(distribution: Distribution) -> str:
    if isinstance(distribution, Fixed):
        return f"fixed {_format_value(distribution.value)}"
    if isinstance(distribution, Choice):
        return "one of " + ", ".join(_format_value(value) for value in distribution.values)
    scale = ", log scale" if distribution.log else ""
    kind = "float" if isinstance(distribution, FloatRange) else "integer"
    step = f", step {distribution.step}" if not isinstance(distribution, FloatRange) and distribution.step != 1 else ""
    return f"{kind} {_format_value(distribution.low)} to {_format_value(distribution.high)}{scale}{step}"


def _fixed_int(space: SearchSpace, name: str) -> int | None:
    distribution = space.distributions[name]
    return int(distribution.value) if isinstance(distribution, Fixed) else None


def _counts(records: Sequence[TrialRecord]) -> str:
    states = [record.state for record in records]
    words = {COMPLETE: "complete", PRUNED: "pruned", FAIL: "failed", "RUNNING": "running", "WAITING": "waiting"}
    parts = [f"{states.count(state)} {words[state]}" for state in (COMPLETE, PRUNED, FAIL)]
    parts += [f"{states.count(state)} {words[state]}" for state in ("RUNNING", "WAITING") if state in states]
    return ", ".join(parts)


def _best_and_worst(records: Sequence[TrialRecord]) -> tuple[TrialRecord | None, TrialRecord | None]:
    completed = [record for record in records if record.state == COMPLETE and record.value is not None]
    if not completed:
        return None, None
    ordered = sorted(completed, key=lambda record: (record.value, -record.number))
    return ordered[-1], ordered[0]


def _params_text(record: TrialRecord) -> str:
    return ", ".join(f"{name} = {_format_value(value)}" for name, value in record.params.items())


def _largest_spread(tables: Sequence[ParameterTable]) -> str | None:
    """One sentence on the parameter whose values differ most in mean DICE, or None.

    Only rows of two or more completed trials count: a single run says little about a value.
    """
    best: tuple[float, ParameterTable, TableRow, TableRow] | None = None
    for table in tables:
        rows = [row for row in table.rows if row.dice is not None and row.completed >= 2 and row.label != NOT_SAMPLED]
        if len(rows) < 2:
            continue
        low = min(rows, key=lambda row: row.dice or 0.0)
        high = max(rows, key=lambda row: row.dice or 0.0)
        spread = (high.dice or 0.0) - (low.dice or 0.0)
        if best is None or spread > best[0]:
            best = (spread, table, high, low)
    if best is None:
        return None
    _, table, high, low = best
    sign = "in" if table.binned else "="
    return (
        f"Largest difference between a parameter's values: mean DICE {high.dice:.3f} with {table.name} {sign} "
        f"{high.label} ({high.completed} completed trials) against {low.dice:.3f} with {low.label} "
        f"({low.completed})."
    )


def _summary(
    records: Sequence[TrialRecord],
    tables: Sequence[ParameterTable],
    savings: PruningSavings,
    pruner: str,
) -> tuple[str, ...]:
    best, worst = _best_and_worst(records)
    lines: list[str] = []
    if best is None or worst is None:
        lines.append("No trial has completed yet.")
    else:
        lines.append(f"Best: trial {best.number}, validation DICE {best.value:.4f}, with {_params_text(best)}.")
        if worst.number != best.number:
            lines.append(f"Worst completed: trial {worst.number}, validation DICE {worst.value:.4f}.")
    spread = _largest_spread(tables)
    if spread:
        lines.append(spread)
    if pruner == "none":
        lines.append("Pruning was off.")
    elif savings.pruned_trials == 0:
        lines.append("No trial was pruned, so pruning saved no epochs.")
    else:
        unknown = f" ({savings.unknown} pruned trial(s) without a stopping epoch left out)" if savings.unknown else ""
        lines.append(
            f"Pruning stopped {savings.pruned_trials} trial(s) early and saved {savings.epochs_saved} of "
            f"{savings.epochs_unpruned} epochs ({savings.share:.0%}) that the finished trials would have run "
            f"unpruned{unknown}."
        )
    total = sum(float(record.attrs.get("wall_time_s", 0.0)) for record in records)
    lines.append(f"Trials took {total / 60:.1f} minutes of wall time in all.")
    return tuple(lines)


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


def _prediction(artifact_dir: Path, record: TrialRecord | None, role: str, file_name: str) -> ReportImage:
    from optuna.artifacts.exceptions import ArtifactNotFound

    from storage import open_artifact_store

    title = f"Predictions of the {role} trial"
    if record is None:
        return ReportImage(file_name, title, None, "No completed trial, so no predictions to show.")
    title += f" (trial {record.number}, DICE {record.value:.4f})"
    artifact_id = record.attrs.get("figure_artifact_id")
    if not artifact_id:
        return ReportImage(file_name, title, None, f"Trial {record.number} uploaded no prediction figure.")
    if not artifact_dir.is_dir():
        return ReportImage(
            file_name, title, None, f"The artifact folder {str(artifact_dir)!r} does not exist; pass --artifacts."
        )
    try:
        with open_artifact_store(artifact_dir).open_reader(str(artifact_id)) as reader:
            png = reader.read()
    except (ArtifactNotFound, ValueError, OSError):
        return ReportImage(
            file_name, title, None, f"The prediction figure {artifact_id} is not in {str(artifact_dir)!r}."
        )
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return ReportImage(file_name, title, None, f"The prediction figure {artifact_id} is not a PNG file.")
    return ReportImage(file_name, title, png, "Each row: X-ray, ground truth (green), prediction (red).")


def _plot(file_name: str, title: str, note: str, draw: Callable[..., bytes], *args: Any) -> ReportImage:
    """Runs one plotting function; a failure becomes a note rather than a lost report."""
    try:
        return ReportImage(file_name, title, draw(*args), note)
    except (ValueError, RuntimeError) as error:
        return ReportImage(file_name, title, None, f"Could not draw this plot: {error}")


def build_report(storage_url: str, name: str, artifact_dir: Path) -> StudyReport:
    """Reads a study, its spec and its best and worst trials' figures into a `StudyReport`.

    Args:
        storage_url: Optuna storage URL (see `storage.open_storage`).
        name: the study's name.
        artifact_dir: the study's artifact folder, where the prediction figures are.
    """
    from hpo.report import plots as report_plots
    from hpo.results.records import read_study
    from hpo.study.spec import load_spec
    from storage import mask_url

    study = read_study(storage_url, name)  # read only: no sampler, and no empty database left behind
    spec = load_spec(study)
    records = records_from_study(study)
    completed = [record for record in records if record.state == COMPLETE]
    tuned = tuned_parameters(records)
    tables = tuple(parameter_table(records, parameter) for parameter in tuned)
    savings = pruning_savings(records, _fixed_int(spec.space, "max_epochs"))
    tuned_completed = tuned_parameters(records, states=(COMPLETE,))
    importances, importance_note = _importances(study, tuned_completed, len(completed))
    versions = next((record.attrs for record in reversed(completed) if "keras_version" in record.attrs), {})

    setup: list[tuple[str, str]] = [
        ("Study", name),
        ("Storage", mask_url(storage_url)),
        ("Artifacts", str(artifact_dir)),
        ("Data", mask_url(str(spec.data))),
        (
            "Split",
            f"{len(spec.split.train)} training / {len(spec.split.val)} validation images "
            f"(validation fraction {spec.val_fraction:g}, seed {spec.seed})",
        ),
        ("Sampler", f"{spec.sampler} (seed {spec.seed})"),
        ("Pruner", spec.pruner),
        ("Budget", f"{spec.n_trials} finished trials"),
        ("Trials", _counts(records)),
    ]
    if spec.preset:
        setup.insert(3, ("Preset", spec.preset))
    if versions:
        setup.append(
            (
                "Software",
                f"Keras {versions.get('keras_version')} ({versions.get('keras_backend')}), "
                f"Optuna {versions.get('optuna_version')}, Python {versions.get('python_version')}",
            )
        )
    space = tuple(
        (
            definition.name,
            _describe(spec.space.distributions[definition.name]),
            definition.help + (" (only with augmentation on)" if definition.augmentation else ""),
            "yes" if definition.name in tuned else "",
        )
        for definition in PARAMETERS
    )

    plots = [
        _plot(
            "history.png",
            "Optimisation history",
            "Validation DICE of each completed trial and the best so far.",
            report_plots.optimization_history_png,
            study,
        )
        if completed
        else ReportImage("history.png", "Optimisation history", None, "No trial has completed yet."),
        _plot(
            "intermediate.png",
            "Validation DICE per epoch",
            "Completed trials in colour; pruned trials dashed grey, with a red cross where the pruner stopped them.",
            report_plots.intermediate_curves_png,
            records,
        )
        if any(record.intermediate for record in records)
        else ReportImage("intermediate.png", "Validation DICE per epoch", None, "No trial reported an epoch yet."),
        _plot("importances.png", "Parameter importances", importance_note, report_plots.importances_png, importances)
        if importances
        else ReportImage("importances.png", "Parameter importances", None, importance_note),
        _plot(
            "parallel.png",
            "Parallel coordinates",
            "Each line is a completed trial, coloured by validation DICE.",
            report_plots.parallel_coordinate_png,
            study,
            tuned_completed,
        )
        if len(completed) >= 2 and tuned_completed
        else ReportImage(
            "parallel.png",
            "Parallel coordinates",
            None,
            "Needs at least two completed trials and a parameter that varied among them.",
        ),
    ]
    best, worst = _best_and_worst(records)
    predictions = [_prediction(artifact_dir, best, "best", "predictions-best.png")]
    if worst is not None and best is not None and worst.number != best.number:
        predictions.append(_prediction(artifact_dir, worst, "worst", "predictions-worst.png"))
    return StudyReport(
        factors=factor_tables(records),
        study_name=name,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        summary=_summary(records, tables, savings, spec.pruner),
        setup=tuple(setup),
        space=space,
        tables=tables,
        importances=importances,
        plots=tuple(plots),
        predictions=tuple(predictions),
    )


_TABLE_HEADERS = ("value", "trials", "pruned", "train acc", "val acc", "DICE", "run time (s)", "early stop (epoch)")
_TABLE_NOTE = (
    "Means are over each row's completed trials; pruned trials are counted but not averaged. "
    "Run time is a trial's wall time. Early stop: mean epoch at which early stopping ended a run, "
    "and how many of the completed runs it ended. Numeric parameters with many values are grouped "
    "into bins holding about equally many trials."
)

_FACTOR_NOTE = (
    "Each table holds the baseline run and the runs that changed one factor alone, as in a "
    "one-factor-at-a-time study: value, training accuracy, validation accuracy, DICE, run time "
    "and the epoch at which early stopping ended the run."
)


def _cell(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table_cells(row: TableRow) -> tuple[str, ...]:
    stopped = (
        "–"
        if row.early_stopping_epoch is None
        else f"{row.early_stopping_epoch:.1f} ({row.early_stopped} of {row.completed})"
    )
    return (
        row.label,
        str(row.trials),
        str(row.pruned),
        _cell(row.train_accuracy),
        _cell(row.val_accuracy),
        _cell(row.dice),
        _cell(row.wall_time_s, 1),
        stopped,
    )


def _table_title(table: ParameterTable) -> str:
    meaning = _HELP.get(table.name)
    return f"{table.name}: {meaning}" if meaning else table.name


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1d2430; background: #ffffff; margin: 2rem auto; max-width: 1100px; padding: 0 1.5rem;
       line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #d5dbe3; padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
.meta, .note, figcaption { color: #5a6473; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.4rem 0 1rem; font-size: 0.92rem; }
th, td { border: 1px solid #d5dbe3; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #eef2f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0 1.8rem; }
img { max-width: 100%; height: auto; border: 1px solid #e3e7ed; }
.missing { border: 1px dashed #c0392b; color: #8e2a1f; padding: 0.6rem 0.9rem; background: #fdf3f2; }
""".strip()

# Nothing may load from anywhere: only inline styles and data: images.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int | None = None) -> str:
    titles = "".join(f"<th>{html.escape(header)}</th>" for header in headers)
    head = f"<thead><tr>{titles}</tr></thead>" if any(headers) else ""
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            css = ' class="num"' if numeric_from is not None and index >= numeric_from else ""
            cells.append(f"<td{css}>{html.escape(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}<tbody>{''.join(body)}</tbody></table>"


def _html_image(image: ReportImage) -> str:
    title = html.escape(image.title)
    if image.png is None:
        return f'<h3>{title}</h3>\n<p class="missing">{html.escape(image.note)}</p>'
    data = base64.b64encode(image.png).decode("ascii")
    caption = f"<figcaption>{html.escape(image.note)}</figcaption>" if image.note else ""
    return f'<h3>{title}</h3>\n<figure><img src="data:image/png;base64,{data}" alt="{title}">{caption}</figure>'


def render_html(report: StudyReport) -> str:
    """The report as one self-contained HTML page: no scripts, and nothing loaded from elsewhere."""
    name = html.escape(report.study_name)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>lung-hpo report: {name}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>Study {name}</h1>",
        f'<p class="meta">Generated by lung-hpo on {html.escape(report.generated)}.</p>',
        "<h2>Summary</h2>",
        "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in report.summary) + "</ul>",
        "<h2>Setup</h2>",
        _html_table(("", ""), report.setup),
        "<h3>Search space</h3>",
        _html_table(("parameter", "distribution", "meaning", "tuned"), report.space),
    ]
    if report.factors:
        parts.append("<h2>One factor at a time</h2>")
        parts.append(f'<p class="note">{html.escape(_FACTOR_NOTE)}</p>')
        for table in report.factors:
            parts.append(f"<h3>{html.escape(table.name)}</h3>")
            parts.append(_html_table(_TABLE_HEADERS, [_table_cells(row) for row in table.rows], numeric_from=1))
    parts.append("<h2>Results by parameter</h2>")
    if report.tables:
        parts.append(f'<p class="note">{html.escape(_TABLE_NOTE)}</p>')
        for table in report.tables:
            parts.append(f"<h3>{html.escape(_table_title(table))}</h3>")
            parts.append(_html_table(_TABLE_HEADERS, [_table_cells(row) for row in table.rows], numeric_from=1))
    else:
        parts.append('<p class="note">No parameter took more than one value among the finished trials.</p>')
    parts.append("<h2>Optimisation</h2>")
    for image in report.plots:
        parts.append(_html_image(image))
        if image.file_name == "importances.png" and report.importances:
            rows = [(param, f"{value:.3f}") for param, value in report.importances.items()]
            parts.append(_html_table(("parameter", "importance"), rows, numeric_from=1))
    parts.append("<h2>Predictions</h2>")
    parts.extend(_html_image(image) for image in report.predictions)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(_md_escape(header) for header in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(_md_escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_image(image: ReportImage) -> str:
    if image.png is None:
        return f"### {image.title}\n\n> {image.note}"
    caption = f"\n\n{image.note}" if image.note else ""
    return f"### {image.title}\n\n![{image.title}]({image.file_name}){caption}"


def render_markdown(report: StudyReport) -> str:
    """The report as Markdown; its images are PNG files beside it (`ReportImage.file_name`)."""
    parts = [
        f"# Study {report.study_name}",
        f"Generated by lung-hpo on {report.generated}.",
        "## Summary",
        "\n".join(f"- {line}" for line in report.summary),
        "## Setup",
        _md_table(("setting", "value"), report.setup),
        "### Search space",
        _md_table(("parameter", "distribution", "meaning", "tuned"), report.space),
    ]
    if report.factors:
        parts += ["## One factor at a time", _FACTOR_NOTE]
        for table in report.factors:
            parts.append(f"### {table.name}")
            parts.append(_md_table(_TABLE_HEADERS, [_table_cells(row) for row in table.rows]))
    parts.append("## Results by parameter")
    if report.tables:
        parts.append(_TABLE_NOTE)
        for table in report.tables:
            parts.append(f"### {_table_title(table)}")
            parts.append(_md_table(_TABLE_HEADERS, [_table_cells(row) for row in table.rows]))
    else:
        parts.append("No parameter took more than one value among the finished trials.")
    parts.append("## Optimisation")
    for image in report.plots:
        parts.append(_md_image(image))
        if image.file_name == "importances.png" and report.importances:
            rows = [(param, f"{value:.3f}") for param, value in report.importances.items()]
            parts.append(_md_table(("parameter", "importance"), rows))
    parts.append("## Predictions")
    parts.extend(_md_image(image) for image in report.predictions)
    return "\n\n".join(parts) + "\n"


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
    """Builds a study's report and writes it to ``out_dir`` (see `build_report`, `write_report`)."""
    return write_report(build_report(storage_url, name, artifact_dir), out_dir)
