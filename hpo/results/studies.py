"""Studies read for showing: load one by name, list a storage's, read a study's spec if it has one.

Everything here only reads: studies made by Optuna alone (no lung-hpo spec) are listed and
shown too, with the spec's columns left empty, so a storage shared with other projects works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpo.results.records import best, clean, records_of
from hpo.study.finalize import load_final_score
from hpo.study.spec import StudySpec, load_spec
from storage import open_storage

if TYPE_CHECKING:
    import optuna

__all__ = ["best_row", "read_study", "study_rows", "study_spec"]

# What the objective records beyond Optuna's own fields, shown by `best_row`.
_RESULT_ATTRIBUTES = (
    "val_iou",
    "train_accuracy",
    "val_accuracy",
    "epochs_run",
    "early_stopping_epoch",
    "images_per_second",
    "seed",
    "keras_backend",
    "device",
    "precision",
)


def read_study(storage_url: str, name: str, **storage_options: int) -> optuna.Study:
    """Loads a study to read it; a wrong name raises ``KeyError`` listing the known names.

    Unlike `hpo.study.run.open_study`, which starts from it, it needs no lung-hpo spec and builds
    no sampler.

    Args:
        storage_url: Optuna storage URL (see `storage.open_storage`); the storage must exist.
        name: the study's name.
        storage_options: passed to `storage.open_storage` (heartbeat interval, grace period).
    """
    import optuna

    storage = open_storage(storage_url, must_exist=True, **storage_options)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        known = sorted(optuna.get_all_study_names(storage))
        raise KeyError(f"no study named {name!r} in this storage; known studies: {known or 'none'}") from None


def study_spec(study: optuna.Study) -> StudySpec | None:
    """The study's lung-hpo spec, or ``None`` for a study lung-hpo did not create or cannot read."""
    try:
        return load_spec(study)
    except (ValueError, KeyError, TypeError):  # SpecError, or a spec JSON this version cannot read
        return None


def study_rows(storage_url: str) -> list[dict[str, Any]]:
    """One row per study in the storage: progress against the budget, best DICE, settings.

    Args:
        storage_url: Optuna storage URL; the storage must exist.
    """
    import optuna

    storage = open_storage(storage_url, must_exist=True)
    rows = []
    for name in sorted(optuna.get_all_study_names(storage)):
        study = optuna.load_study(study_name=name, storage=storage)
        records = records_of(study)
        states = [record.state for record in records]
        spec = study_spec(study)
        top = best(records)
        rows.append(
            {
                "study": name,
                "finished": sum(record.finished for record in records),
                "budget": spec.n_trials if spec else None,
                "running": states.count("RUNNING"),
                "failed": states.count("FAIL"),
                "best_dice": clean(top.value) if top else None,
                "best_trial": top.number if top else None,
                "sampler": spec.sampler if spec else None,
                "pruner": spec.pruner if spec else None,
                "data": str(spec.data) if spec else None,
            }
        )
    return rows


def best_row(study: optuna.Study) -> dict[str, Any] | None:
    """The best trial's DICE, metrics and parameters as a flat record; None before any completes.

    ``dice`` is validation DICE; once the study is finalized (`hpo.study.finalize`), the ``test_``
    fields hold the honest score of the same configuration on the locked test set.
    """

    chosen = best(records_of(study))
    if chosen is None:
        return None
    row: dict[str, Any] = {"study": study.study_name, "trial": chosen.number, "dice": chosen.value}
    row.update({key: chosen.attrs[key] for key in _RESULT_ATTRIBUTES if key in chosen.attrs})
    row["wall_time_s"] = chosen.wall_time_s
    final = load_final_score(study)
    if final is not None and final.trial == chosen.number:  # the test score of this configuration
        row.update(
            test_dice=final.dice, test_dice_sd=final.dice_sd, test_dice_ci95=list(final.dice_ci95),
            test_iou=final.iou, test_pixel_accuracy=final.pixel_accuracy, test_images=final.test_images,
            test_seeds=len(final.seeds),
        )  # fmt: skip
    row["params"] = dict(chosen.params)
    return row
