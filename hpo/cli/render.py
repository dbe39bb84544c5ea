"""Results as Rich tables for people or JSON for scripts (``--format``)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import optuna

__all__ = ["OutputFormat", "best_trial_record", "print_record"]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


_RESULT_KEYS = (
    "val_dice",
    "val_iou",
    "train_accuracy",
    "val_accuracy",
    "epochs_run",
    "early_stopping_epoch",
    "wall_time_s",
    "images_per_second",
    "seed",
    "keras_backend",
)


def best_trial_record(study: optuna.Study) -> dict[str, Any] | None:
    """The best completed trial as a flat record, or ``None`` if no trial completed."""
    from optuna.trial import TrialState

    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        return None
    best = max(completed, key=lambda trial: trial.value if trial.value is not None else float("-inf"))
    record: dict[str, Any] = {"study": study.study_name, "trial": best.number, "dice": best.value}
    record.update({key: best.user_attrs[key] for key in _RESULT_KEYS if key in best.user_attrs})
    record["params"] = dict(best.params)
    return record


def print_record(record: dict[str, Any], output: OutputFormat, console: Console, title: str) -> None:
    """Prints one record: JSON on one line, or a two-column table with params flattened."""
    if output is OutputFormat.json:
        console.print_json(json.dumps(record, default=str))
        return
    table = Table(title=title, show_header=True)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        if key == "params":
            for name, param in value.items():
                table.add_row(f"param {name}", _format(param))
        else:
            table.add_row(key, _format(value))
    console.print(table)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
