"""A study's results as plain records, for tables, JSON and CSV: the read side of ``hpo study``.

Everything here only reads. Studies made by Optuna alone (no lung-hpo spec) are listed and
shown too, with the spec's columns left empty, so a storage shared with other projects works.
A record is a flat ``dict`` of JSON-ready values plus ``params`` (a dict); CSV flattens the
params into ``param_<name>`` columns.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hpo.study.spec import StudySpec, load_spec
from storage import open_storage

if TYPE_CHECKING:
    import optuna

__all__ = [
    "TRIAL_FIELDS",
    "read_study",
    "records_to_csv",
    "records_to_json",
    "study_records",
    "study_spec",
    "trial_record",
    "trial_records",
]

# The columns of `trial_record`, in order; ``params`` comes last.
TRIAL_FIELDS = (
    "number",
    "state",
    "dice",
    "val_iou",
    "train_accuracy",
    "val_accuracy",
    "epochs_run",
    "early_stopping_epoch",
    "pruned_at_epoch",
    "wall_time_s",
    "seed",
    "started",
    "completed",
    "failure",
)
_ATTRIBUTE_FIELDS = ("val_iou", "train_accuracy", "val_accuracy", "epochs_run", "early_stopping_epoch", "seed")


def read_study(storage_url: str, name: str) -> optuna.Study:
    """Loads a study to read it; a wrong name raises ``KeyError`` listing the known names.

    Unlike `hpo.study.run.open_study` it needs no lung-hpo spec and builds no sampler.

    Args:
        storage_url: Optuna storage URL (see `storage.open_storage`); the storage must exist.
        name: the study's name.
    """
    import optuna

    storage = open_storage(storage_url, must_exist=True)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        known = sorted(optuna.get_all_study_names(storage))
        raise KeyError(f"no study named {name!r} in this storage; known studies: {known or 'none'}") from None


def study_spec(study: optuna.Study) -> StudySpec | None:
    """The study's lung-hpo spec, or ``None`` for a study lung-hpo did not create or cannot read."""
    try:
        return load_spec(study)
    except (ValueError, KeyError, TypeError):
        return None


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities become ``None`` (strict JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _wall_time(trial: optuna.trial.FrozenTrial) -> float | None:
    recorded = trial.user_attrs.get("wall_time_s")
    if recorded is not None:
        return float(recorded)
    return trial.duration.total_seconds() if trial.duration is not None else None


def trial_record(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """One trial as a flat record with the keys of `TRIAL_FIELDS` plus ``params``.

    ``dice`` is the trial's value (validation DICE); ``failure`` is what the objective recorded
    when training raised.
    """
    attrs = trial.user_attrs
    record: dict[str, Any] = {
        "number": trial.number,
        "state": trial.state.name,
        "dice": trial.value if trial.values is not None and len(trial.values) == 1 else None,
    }
    record.update({key: attrs.get(key) for key in _ATTRIBUTE_FIELDS})
    record["pruned_at_epoch"] = attrs.get("pruned_at_epoch")
    record["wall_time_s"] = _wall_time(trial)
    record["started"] = trial.datetime_start.isoformat() if trial.datetime_start else None
    record["completed"] = trial.datetime_complete.isoformat() if trial.datetime_complete else None
    record["failure"] = attrs.get("failure")
    record = {key: _clean(value) for key, value in record.items()}
    record["params"] = {name: _clean(value) for name, value in trial.params.items()}
    return record


def trial_records(study: optuna.Study) -> list[dict[str, Any]]:
    """Records of the study's trials by number."""
    return [trial_record(trial) for trial in study.get_trials(deepcopy=False)]


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    try:
        return study.best_trial
    except (ValueError, RuntimeError):  # no completed trial, or several objectives
        return None


def study_records(storage_url: str) -> list[dict[str, Any]]:
    """One record per study in the storage: progress against the budget, best DICE, settings.

    Args:
        storage_url: Optuna storage URL; the storage must exist.
    """
    import optuna
    from optuna.trial import TrialState

    storage = open_storage(storage_url, must_exist=True)
    records = []
    for name in sorted(optuna.get_all_study_names(storage)):
        study = optuna.load_study(study_name=name, storage=storage)
        states = [trial.state for trial in study.get_trials(deepcopy=False)]
        spec = study_spec(study)
        best = _best(study)
        records.append(
            {
                "study": name,
                "finished": sum(state in (TrialState.COMPLETE, TrialState.PRUNED) for state in states),
                "budget": spec.n_trials if spec else None,
                "running": states.count(TrialState.RUNNING),
                "failed": states.count(TrialState.FAIL),
                "best_dice": _clean(best.value) if best else None,
                "best_trial": best.number if best else None,
                "sampler": spec.sampler if spec else None,
                "pruner": spec.pruner if spec else None,
                "data": str(spec.data) if spec else None,
            }
        )
    return records


def records_to_json(records: Sequence[dict[str, Any]]) -> str:
    """A JSON array of the records, one line."""
    return json.dumps(list(records), default=str, allow_nan=False)


def records_to_csv(records: Sequence[dict[str, Any]]) -> str:
    """CSV with a header: the scalar fields, then one ``param_<name>`` column per parameter seen.

    A trial without a parameter (another branch of a conditional space) leaves its cell empty;
    ``None`` is written as an empty cell too.
    """
    scalars: list[str] = []
    params: list[str] = []
    for record in records:
        scalars.extend(key for key in record if key != "params" and key not in scalars)
        params.extend(name for name in record.get("params", {}) if name not in params)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*scalars, *(f"param_{name}" for name in params)])
    for record in records:
        values = [record.get(key) for key in scalars]
        values.extend(record.get("params", {}).get(name) for name in params)
        writer.writerow(["" if value is None else value for value in values])
    return out.getvalue()
