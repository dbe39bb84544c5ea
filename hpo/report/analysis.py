"""What the report says about a study's trials: pure functions of `TrialRecord`s.

Tables of results per parameter value (numbers with many values in quantile bins), the
researchers' one-factor-at-a-time tables, the epochs pruning saved and the summary's sentences.
Nothing here reads a storage or draws: the functions are tested on hand-made records.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hpo.results.records import COMPLETE, FINISHED, PRUNED, TrialRecord, best
from objectives.space import PARAMETERS

__all__ = [
    "BASELINE_FACTOR",
    "NOT_SAMPLED",
    "RUN_HEADERS",
    "ParameterTable",
    "PruningSavings",
    "TableRow",
    "counts",
    "factor_tables",
    "format_value",
    "parameter_table",
    "pruned_summary",
    "pruning_savings",
    "run_rows",
    "quantile_bins",
    "summary",
    "tuned_parameters",
    "worst",
]

NOT_SAMPLED = "not sampled"  # row of trials that never sampled a conditional parameter
BASELINE_FACTOR = "baseline"  # the ``factor`` label of the one-factor-at-a-time baseline run
_MAX_CATEGORIES = 5  # numeric parameters with more distinct values than this are binned
_BINS = 4
_ORDER = {definition.name: index for index, definition in enumerate(PARAMETERS)}
# How `counts` names each state; the first three are always shown, the others only when present.
_STATE_WORDS = {COMPLETE: "complete", PRUNED: "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}
_ALWAYS_COUNTED = 3


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


def format_value(value: Any) -> str:
    """A parameter value as the report prints it: floats to four significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def tuned_parameters(records: Sequence[TrialRecord], states: Sequence[str] = FINISHED) -> list[str]:
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


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _row(label: str, group: Sequence[TrialRecord]) -> TableRow:
    completed = [record for record in group if record.state == COMPLETE]

    def attribute_mean(key: str) -> float | None:
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
        train_accuracy=attribute_mean("train_accuracy"),
        val_accuracy=attribute_mean("val_accuracy"),
        dice=_mean([record.value for record in completed if record.value is not None]),
        wall_time_s=_mean([record.wall_time_s for record in completed if record.wall_time_s is not None]),
        early_stopping_epoch=_mean(stopped),
        early_stopped=len(stopped),
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _binned_groups(present: Sequence[TrialRecord], name: str, n_bins: int) -> list[tuple[str, list[TrialRecord]]]:
    """The trials grouped into quantile bins of their (numeric) value of ``name``, empty bins left out."""
    edges = quantile_bins([float(record.params[name]) for record in present], n_bins)
    last = len(edges) - 2
    buckets: list[list[TrialRecord]] = [[] for _ in range(last + 1)]
    for record in present:
        index = bisect.bisect_right(edges, float(record.params[name])) - 1
        buckets[min(max(index, 0), last)].append(record)
    return [
        (f"[{edges[index]:.3g}, {edges[index + 1]:.3g}{']' if index == last else ')'}", bucket)
        for index, bucket in enumerate(buckets)
        if bucket
    ]


def _value_groups(present: Sequence[TrialRecord], name: str) -> list[tuple[str, list[TrialRecord]]]:
    """The trials grouped by their value of ``name``, values in ascending order."""
    distinct = {record.params[name] for record in present}
    try:
        ordered = sorted(distinct)
    except TypeError:  # mixed types, e.g. a parameter redefined between runs
        ordered = sorted(distinct, key=repr)
    return [(format_value(value), [r for r in present if r.params[name] == value]) for value in ordered]


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
    finished = [record for record in records if record.finished]
    present = [record for record in finished if name in record.params]
    values = [record.params[name] for record in present]
    binned = bool(values) and all(_is_number(value) for value in values) and len(set(values)) > max_categories
    groups = _binned_groups(present, name, n_bins) if binned else _value_groups(present, name)
    missing = [record for record in finished if name not in record.params]
    if missing:
        groups.append((NOT_SAMPLED, missing))
    return ParameterTable(name, binned, tuple(_row(label, group) for label, group in groups))


def factor_tables(records: Sequence[TrialRecord]) -> tuple[ParameterTable, ...]:
    """The researchers' one-factor-at-a-time tables, from trials labelled ``factor``/``setting``.

    Each factor gets a table whose first row is the baseline and whose other rows are the
    trials that changed that factor alone, one per setting, in the order they were enqueued.
    Studies without such labels (or with a baseline only) get none.
    """
    labelled = sorted((r for r in records if r.finished and "factor" in r.attrs), key=lambda r: r.number)
    baseline = [record for record in labelled if record.attrs["factor"] == BASELINE_FACTOR]
    factors: dict[str, list[TrialRecord]] = {}
    for record in labelled:
        if record.attrs["factor"] != BASELINE_FACTOR:
            factors.setdefault(str(record.attrs["factor"]), []).append(record)
    first = [_row(f"{BASELINE_FACTOR}: {baseline[0].attrs.get('setting', '')}", baseline)] if baseline else []
    tables = []
    for factor, trials in factors.items():
        rows = [_row(str(record.attrs.get("setting", record.number)), [record]) for record in trials]
        tables.append(ParameterTable(factor, False, (*first, *rows)))
    return tuple(tables)


RUN_HEADERS = (
    "trial",
    "batch size",
    "epochs",
    "augmentation",
    "train acc",
    "val acc",
    "DICE",
    "run time (s)",
    "early stop (epoch)",
)


def _augmentation(params: Mapping[str, Any]) -> str:
    """A run's augmentation in the researchers' words, e.g. ``rotation 90, shift 0.3, flips H+V``."""
    if not params.get("augment", True):
        return "off"
    parts = []
    if params.get("rotation"):
        parts.append(f"rotation {format_value(params['rotation'])}")
    if params.get("width_shift") or params.get("height_shift"):
        shifts = {format_value(params.get("width_shift", 0.0)), format_value(params.get("height_shift", 0.0))}
        parts.append(f"shift {'/'.join(sorted(shifts))}")
    for name in ("shear", "zoom", "elastic"):
        if params.get(name):
            parts.append(f"{name} {format_value(params[name])}")
    flips = "+".join(flip for flip, key in (("H", "horizontal_flip"), ("V", "vertical_flip")) if params.get(key))
    if flips:
        parts.append(f"flips {flips}")
    return ", ".join(parts) or "on, no movement"


def _number(value: Any, digits: int) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}"


def run_rows(records: Sequence[TrialRecord], fixed: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    """The table of runs: one row per completed trial, highest validation DICE first (`RUN_HEADERS`).

    Args:
        records: the study's trials; only completed ones get a row.
        fixed: the space's fixed values, for settings a trial did not sample.
    """
    completed = [record for record in records if record.state == COMPLETE and record.value is not None]
    rows = []
    for record in sorted(completed, key=lambda r: (-(r.value or 0.0), r.number)):
        params = {**fixed, **record.params}
        ran, planned = record.attrs.get("epochs_run"), params.get("max_epochs")
        epochs = f"{ran} of {planned}" if ran is not None and planned is not None else str(ran or planned or "–")
        stopped = record.attrs.get("early_stopping_epoch")
        rows.append(
            (
                f"#{record.number}",
                str(params.get("batch_size", "–")),
                epochs,
                _augmentation(params),
                _number(record.attrs.get("train_accuracy"), 3),
                _number(record.attrs.get("val_accuracy"), 3),
                _number(record.value, 4),
                _number(record.wall_time_s, 1),
                "–" if stopped is None else str(stopped),
            )
        )
    return tuple(rows)


def pruned_summary(records: Sequence[TrialRecord]) -> str | None:
    """One sentence on the pruned trials: how many, when they were stopped, at what DICE."""
    pruned = sorted((r for r in records if r.state == PRUNED), key=lambda r: r.number)
    if not pruned:
        return None
    each = [
        f"#{record.number} after {record.pruned_at_epoch} epoch(s)"
        + (f" at DICE {record.intermediate[max(record.intermediate)]:.3f}" if record.intermediate else "")
        for record in pruned
    ]
    return f"{len(pruned)} pruned trial(s), stopped when they trailed the others: {'; '.join(each)}."


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
            ran = record.pruned_at_epoch or None  # a pruned trial that reported no epoch: unknown
            if max_epochs is None or ran is None:
                unknown += 1
                continue
            saved += max(int(max_epochs) - ran, 0)
            unpruned += int(max_epochs)
    return PruningSavings(pruned, saved, unpruned, unknown)


def counts(records: Sequence[TrialRecord]) -> str:
    """How many trials are in each state, e.g. ``3 complete, 1 pruned, 0 failed, 2 running``."""
    states = [record.state for record in records]
    shown = [state for index, state in enumerate(_STATE_WORDS) if index < _ALWAYS_COUNTED or state in states]
    return ", ".join(f"{states.count(state)} {_STATE_WORDS[state]}" for state in shown)


def worst(records: Sequence[TrialRecord]) -> TrialRecord | None:
    """The completed trial with the lowest validation DICE; the latest of equals (`best`'s mirror)."""
    completed = [record for record in records if record.state == COMPLETE and record.value is not None]
    return min(completed, key=lambda record: (record.value, -record.number), default=None)


def _largest_spread(tables: Sequence[ParameterTable]) -> str | None:
    """One sentence on the parameter whose values differ most in mean DICE, or None.

    Only rows of two or more completed trials count: a single run says little about a value.
    """
    widest: tuple[float, ParameterTable, TableRow, TableRow] | None = None
    for table in tables:
        rows = [row for row in table.rows if row.dice is not None and row.completed >= 2 and row.label != NOT_SAMPLED]
        if len(rows) < 2:
            continue
        low = min(rows, key=lambda row: row.dice or 0.0)
        high = max(rows, key=lambda row: row.dice or 0.0)
        spread = (high.dice or 0.0) - (low.dice or 0.0)
        if widest is None or spread > widest[0]:
            widest = (spread, table, high, low)
    if widest is None:
        return None
    _, table, high, low = widest
    sign = "in" if table.binned else "="
    return (
        f"Largest difference between a parameter's values: mean DICE {high.dice:.3f} with {table.name} {sign} "
        f"{high.label} ({high.completed} completed trials) against {low.dice:.3f} with {low.label} "
        f"({low.completed})."
    )


def _pruning_sentence(savings: PruningSavings, pruner: str) -> str:
    if pruner == "none":
        return "Pruning was off."
    if savings.pruned_trials == 0:
        return "No trial was pruned, so pruning saved no epochs."
    unknown = f" ({savings.unknown} pruned trial(s) without a stopping epoch left out)" if savings.unknown else ""
    return (
        f"Pruning stopped {savings.pruned_trials} trial(s) early and saved {savings.epochs_saved} of "
        f"{savings.epochs_unpruned} epochs ({savings.share:.0%}) that the finished trials would have run "
        f"unpruned{unknown}."
    )


def summary(
    records: Sequence[TrialRecord],
    tables: Sequence[ParameterTable],
    savings: PruningSavings,
    pruner: str,
) -> tuple[str, ...]:
    """The report's opening sentences: best and worst trial, widest spread, pruning, wall time.

    Args:
        records: the study's trials.
        tables: its `parameter_table`s, for the parameter whose values differ most.
        savings: its `pruning_savings`.
        pruner: the study's pruner name; ``none`` means pruning was off.
    """
    top, bottom = best(records), worst(records)
    lines: list[str] = []
    if top is None or bottom is None:
        lines.append("No trial has completed yet.")
    else:
        params = ", ".join(f"{name} = {format_value(value)}" for name, value in top.params.items())
        lines.append(f"Best: trial {top.number}, validation DICE {top.value:.4f}, with {params}.")
        if bottom.number != top.number:
            lines.append(f"Worst completed: trial {bottom.number}, validation DICE {bottom.value:.4f}.")
    spread = _largest_spread(tables)
    if spread:
        lines.append(spread)
    lines.append(_pruning_sentence(savings, pruner))
    total = sum(record.wall_time_s or 0.0 for record in records)
    lines.append(f"Trials took {total / 60:.1f} minutes of wall time in all.")
    return tuple(lines)
