"""The report's plots as PNG bytes, drawn by matplotlib's Agg backend (no display needed).

Optuna's matplotlib plots draw the optimisation history and the parallel coordinates. The
per-epoch curves and the importance bars are drawn here from plain data: Optuna's intermediate
plot cannot mark pruned trials, and the importances are computed once, in `hpo.report.build`.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from hpo.results.records import COMPLETE, PRUNED, TrialRecord

if TYPE_CHECKING:
    import optuna
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "importances_png",
    "intermediate_curves_png",
    "optimization_history_png",
    "parallel_coordinate_png",
]

_DPI = 100
_TARGET = "validation DICE"
_GREY = "#9aa3ad"  # pruned trials
_RED = "#c0392b"  # where the pruner stopped one


@contextmanager
def _pyplot() -> Iterator[Any]:
    """pyplot on Agg; figures opened inside are closed and style changes undone on the way out.

    Optuna's plots switch pyplot to the ggplot style sheet; `rc_context` restores the settings.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna

    before = set(plt.get_fignums())
    try:
        with plt.rc_context(), warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield plt
    finally:
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    return buffer.getvalue()


def _optuna_png(axes: Axes, width: float, height: float) -> bytes:
    """The figure of one of Optuna's plots, resized, as PNG."""
    from matplotlib.figure import Figure

    figure = axes.figure
    assert isinstance(figure, Figure)  # Optuna draws on a figure of its own, never a subfigure
    figure.set_size_inches(width, height)
    return _png(figure)


def optimization_history_png(study: optuna.Study) -> bytes:
    """Optuna's optimisation history: each completed trial's DICE and the best so far."""
    from optuna.visualization.matplotlib import plot_optimization_history

    with _pyplot():
        return _optuna_png(plot_optimization_history(study, target_name=_TARGET), 8, 4.5)


def parallel_coordinate_png(study: optuna.Study, params: Sequence[str]) -> bytes:
    """Optuna's parallel-coordinates plot of the completed trials over ``params``."""
    from optuna.visualization.matplotlib import plot_parallel_coordinate

    with _pyplot():
        axes = plot_parallel_coordinate(study, params=list(params), target_name=_TARGET)
        return _optuna_png(axes, max(8.0, 1.4 * len(params) + 3.0), 5)


def intermediate_curves_png(records: Sequence[TrialRecord]) -> bytes:
    """Validation DICE per epoch: completed trials coloured by final DICE, pruned ones marked.

    A pruned trial is a dashed grey line ending in a red cross at the last epoch it ran.
    """
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    shown = [record for record in records if record.intermediate and record.finished]
    if not shown:
        raise ValueError("no completed or pruned trial reported an epoch")
    finals = [record.value for record in shown if record.state == COMPLETE and record.value is not None]
    norm = Normalize(min(finals, default=0.0), max(finals, default=1.0))
    with _pyplot() as plt:
        figure, axes = plt.subplots(figsize=(8, 4.5))
        colours = plt.get_cmap("viridis")
        for record in shown:
            steps = sorted(record.intermediate)
            epochs = [step + 1 for step in steps]  # Optuna's step is Keras's 0-based epoch
            dice = [record.intermediate[step] for step in steps]
            if record.state == PRUNED:
                axes.plot(epochs, dice, linestyle="--", color=_GREY, linewidth=1.2)
                axes.plot(epochs[-1:], dice[-1:], marker="x", color=_RED, markersize=9, markeredgewidth=2)
            else:
                final = record.value if record.value is not None else dice[-1]
                axes.plot(epochs, dice, color=colours(norm(final)), linewidth=1.6, marker=".")
        if finals:
            mappable = plt.cm.ScalarMappable(norm=norm, cmap=colours)
            figure.colorbar(mappable, ax=axes, label="final validation DICE (completed trials)")
        handles = [
            Line2D([], [], color=colours(0.6), linewidth=1.6, marker=".", label="completed"),
            Line2D([], [], color=_GREY, linestyle="--", label="pruned"),
            Line2D([], [], color=_RED, marker="x", linestyle="", markeredgewidth=2, label="stopped by the pruner"),
        ]
        axes.legend(handles=handles, loc="lower right")
        axes.set_xlabel("epoch")
        axes.set_ylabel(_TARGET)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        return _png(figure)


def importances_png(importances: Mapping[str, float]) -> bytes:
    """Horizontal bars of parameter importances, the most important on top."""
    if not importances:
        raise ValueError("no importances to plot")
    names = sorted(importances, key=lambda name: importances[name])
    values = [importances[name] for name in names]
    with _pyplot() as plt:
        figure, axes = plt.subplots(figsize=(8, 0.45 * len(names) + 1.4))
        axes.barh(names, values, color="#4c72b0")
        for row, value in enumerate(values):
            axes.text(value, row, f" {value:.2f}", va="center")
        axes.set_xlim(0, max(max(values) * 1.15, 0.05))
        axes.set_xlabel(f"importance for {_TARGET} (PED-ANOVA, sums to 1)")
        axes.grid(axis="x", alpha=0.3)
        return _png(figure)
