"""A study's results out of the storage: trials as CSV or JSON, a trained model as a .keras file.

`export_model` copies the Keras file the objective uploaded for the best trial (a model is
uploaded whenever a trial beats every earlier one, so the best trial has one unless it ran
without an artifact store).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.results.records import COMPLETE, TrialRecord, best, records_of
from hpo.results.studies import read_study
from objectives.objective import MODEL_ARTIFACT

if TYPE_CHECKING:
    import optuna

__all__ = [
    "ExportedModel",
    "ExportedTrials",
    "artifact_ids",
    "export_model",
    "export_trials",
    "rows_to_csv",
    "rows_to_json",
]


def rows_to_json(rows: Sequence[dict[str, Any]]) -> str:
    """A JSON array of the rows, one line."""
    return json.dumps(list(rows), default=str, allow_nan=False)


def rows_to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """CSV with a header: the scalar fields, then one ``param_<name>`` column per parameter seen.

    A trial without a parameter (another branch of a conditional space) leaves its cell empty;
    ``None`` is written as an empty cell too.
    """
    scalars: list[str] = []
    params: list[str] = []
    for row in rows:
        scalars.extend(key for key in row if key != "params" and key not in scalars)
        params.extend(name for name in row.get("params", {}) if name not in params)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*scalars, *(f"param_{name}" for name in params)])
    for row in rows:
        values = [row.get(key) for key in scalars]
        values.extend(row.get("params", {}).get(name) for name in params)
        writer.writerow(["" if value is None else value for value in values])
    return out.getvalue()


@dataclass(frozen=True)
class ExportedTrials:
    """A study's trials as the text of a CSV or JSON file."""

    text: str
    count: int

    def write(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.text, encoding="utf-8")
        except OSError as error:
            raise ValueError(f"cannot write {str(path)!r}: {error.strerror}") from None


def export_trials(storage_url: str, name: str, file_format: str) -> ExportedTrials:
    """Every trial of a study as CSV (parameters as ``param_<name>`` columns) or a JSON array.

    Args:
        file_format: ``csv`` or ``json``.
    """
    rows = [record.row() for record in records_of(read_study(storage_url, name))]
    text = rows_to_csv(rows) if file_format == "csv" else rows_to_json(rows) + "\n"
    return ExportedTrials(text, len(rows))


def artifact_ids(
    study: optuna.Study, storage_url: str, numbers: Collection[int] | None = None
) -> dict[int, dict[str, str]]:
    """Per trial number, the ids of the files its trial uploaded, by file name (the latest wins).

    Args:
        study: a study read from ``storage_url``.
        storage_url: its storage, which holds the artifacts' records (the files are elsewhere).
        numbers: only these trials (one storage query each); None means every trial.
    """
    import optuna

    from storage import open_storage

    storage = open_storage(storage_url, must_exist=True)
    found: dict[int, dict[str, str]] = {}
    for trial in study.get_trials(deepcopy=False):
        if numbers is not None and trial.number not in numbers:
            continue
        metas = optuna.artifacts.get_all_artifact_meta(trial, storage=storage)
        if metas:
            found[trial.number] = {meta.filename: meta.artifact_id for meta in metas}
    return found


@dataclass(frozen=True)
class ExportedModel:
    """Which trial's model was written where."""

    study: str
    trial: int
    dice: float | None
    path: Path


def _model_trial(
    study_name: str, records: Sequence[TrialRecord], models: dict[int, str], number: int | None
) -> TrialRecord:
    """The trial whose model to export: the one asked for, or the best completed one."""
    completed = [record for record in records if record.state == COMPLETE]
    chosen = (
        next((record for record in completed if record.number == number), None) if number is not None else best(records)
    )
    if chosen is None:
        if number is not None:
            raise KeyError(f"study {study_name!r} has no completed trial {number}")
        raise ValueError(f"study {study_name!r} has no completed trial, so no model to export")
    if chosen.number in models:
        return chosen
    which = "trial" if number is not None else "the best trial"
    message = f"{which} #{chosen.number} (DICE {chosen.value:.4f}) has no saved model"
    other = best(record for record in completed if record.number in models)
    if other is not None:
        message += (
            f"; trial #{other.number} (DICE {other.value:.4f}) has one: "
            f"hpo model export {study_name} --trial {other.number}"
        )
    else:
        message += "; no trial of this study has one (did its workers run without an artifact folder?)"
    raise ValueError(message)


def export_model(
    storage_url: str,
    study_name: str,
    artifact_dir: Path,
    out: Path,
    trial_number: int | None = None,
    overwrite: bool = False,
) -> ExportedModel:
    """Writes the trained Keras model of the study's best trial (or of ``trial_number``) to ``out``.

    Args:
        storage_url: Optuna storage URL of the study.
        study_name: the study's name.
        artifact_dir: the folder its workers uploaded artifacts to.
        out: a ``.keras`` file; its folder is created.
        trial_number: export this completed trial's model instead of the best one's.
        overwrite: replace ``out`` if it exists.
    """
    from optuna.artifacts import download_artifact
    from optuna.artifacts.exceptions import ArtifactNotFound

    from storage import open_artifact_store

    if out.suffix != ".keras":
        raise ValueError(f"the model file must end in .keras (Keras reads nothing else), but got {str(out)!r}")
    if out.exists() and not overwrite:
        raise ValueError(f"{str(out)!r} already exists; pass --force to replace it")
    study = read_study(storage_url, study_name)
    uploaded = artifact_ids(study, storage_url)
    models = {number: files[MODEL_ARTIFACT] for number, files in uploaded.items() if MODEL_ARTIFACT in files}
    trial = _model_trial(study_name, records_of(study), models, trial_number)
    if not artifact_dir.is_dir():
        raise ValueError(f"no artifact folder at {str(artifact_dir)!r}; point --artifacts at the study's")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}-", suffix=".keras")
    os.close(handle)
    os.unlink(partial)  # download_artifact refuses to write over an existing file
    try:
        download_artifact(
            artifact_store=open_artifact_store(artifact_dir), file_path=partial, artifact_id=models[trial.number]
        )
        os.replace(partial, out)
    except ArtifactNotFound:
        raise ValueError(
            f"trial #{trial.number}'s model {models[trial.number]} is not in {str(artifact_dir)!r}; "
            "point --artifacts at the folder the study's workers used"
        ) from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return ExportedModel(study_name, trial.number, trial.value, out)
