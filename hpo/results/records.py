"""One record of a trial, and what "finished" and "best" mean: the vocabulary of the read side.

Every command that shows trials, the report and the live progress display read a study through
`TrialRecord`; `FINISHED` and `best` are defined here and nowhere else. It imports nothing of
lung-hpo, so the write side (budget, progress) uses the same definitions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

__all__ = [
    "COMPLETE",
    "FINISHED",
    "PRUNED",
    "ROW_FIELDS",
    "clean",
    "TrialRecord",
    "best",
    "finished_trials",
    "records_of",
]

COMPLETE, PRUNED = "COMPLETE", "PRUNED"
# Trials that count against a study's budget: the ones that ran to their end, or to their pruning.
FINISHED = (COMPLETE, PRUNED)

# The columns of `TrialRecord.row`, in order; ``params`` comes last.
ROW_FIELDS = (
    "number",
    "state",
    "dice",
    "val_iou",
    "train_accuracy",
    "val_accuracy",
    "epochs_run",
    "early_stopping_epoch",
    "pruned_at_epoch",
    "stopped_by",  # the time limit that ended training early, in a study with a time budget
    "wall_time_s",
    "seed",
    "keras_backend",
    "device",  # what it trained on: the GPU's name, or "cpu"
    "precision",  # the Keras dtype policy it trained with
    "started",
    "completed",
    "failure",
)


@dataclass(frozen=True)
class TrialRecord:
    """One trial as every reader sees it; `from_trial` reads it from Optuna."""

    number: int
    state: str  # an Optuna TrialState name: COMPLETE, PRUNED, FAIL, RUNNING or WAITING
    value: float | None = None  # validation DICE of a completed trial
    params: Mapping[str, Any] = field(default_factory=dict)
    attrs: Mapping[str, Any] = field(default_factory=dict)  # the trial's user attributes
    intermediate: Mapping[int, float] = field(default_factory=dict)  # epoch index -> validation DICE
    started: datetime | None = None
    completed: datetime | None = None

    @classmethod
    def from_trial(cls, trial: optuna.trial.FrozenTrial) -> TrialRecord:
        return cls(
            number=trial.number,
            state=trial.state.name,
            value=trial.value if trial.values is not None and len(trial.values) == 1 else None,
            params=dict(trial.params),
            attrs=dict(trial.user_attrs),
            intermediate=dict(trial.intermediate_values),
            started=trial.datetime_start,
            completed=trial.datetime_complete,
        )

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def wall_time_s(self) -> float | None:
        """Seconds from start to end, as Optuna recorded them; None while it runs."""
        if self.started is None or self.completed is None:
            return None
        return (self.completed - self.started).total_seconds()

    @property
    def pruned_at_epoch(self) -> int | None:
        """Epochs a pruned trial ran: one validation DICE is reported per epoch."""
        return len(self.intermediate) if self.state == PRUNED else None

    def row(self) -> dict[str, Any]:
        """A flat, JSON-ready row with the keys of `ROW_FIELDS` plus ``params``.

        ``dice`` is a completed trial's value (validation DICE); ``failure`` is what the objective
        recorded when training raised.
        """
        # Fields Optuna holds; every other field of `ROW_FIELDS` is a user attribute of the objective.
        held: dict[str, Any] = {
            "number": self.number,
            "state": self.state,
            # A pruned trial's value is its last reported DICE, not a result: only completed ones have one.
            "dice": self.value if self.state == COMPLETE else None,
            "pruned_at_epoch": self.pruned_at_epoch,
            "wall_time_s": self.wall_time_s,
            "started": self.started.isoformat() if self.started else None,
            "completed": self.completed.isoformat() if self.completed else None,
        }
        row = {key: clean(held[key] if key in held else self.attrs.get(key)) for key in ROW_FIELDS}
        row["params"] = {name: clean(value) for name, value in self.params.items()}
        return row


def records_of(study: optuna.Study) -> list[TrialRecord]:
    """Every trial of ``study`` as a `TrialRecord`, in trial-number order."""
    return [TrialRecord.from_trial(trial) for trial in study.get_trials(deepcopy=False)]


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's `FINISHED` trials, as Optuna holds them."""
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=tuple(TrialState[state] for state in FINISHED))


def best(records: Iterable[TrialRecord]) -> TrialRecord | None:
    """The completed trial with the highest validation DICE; the earliest of equals, as in Optuna."""
    completed = [record for record in records if record.state == COMPLETE and record.value is not None]
    return max(completed, key=lambda record: (record.value, -record.number), default=None)


def clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities become ``None`` (strict JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
