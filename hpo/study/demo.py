"""`hpo demo`: the main job on embedded defaults (phantom data, SQLite), resumable."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.console import Console

from hpo.results.notes import save_study_note
from hpo.results.records import finished_trials
from hpo.study.defaults import DEFAULT_FINAL_SEEDS
from hpo.study.finalize import finalize_when_over
from hpo.study.presets import PresetName, StudyRequest, resolve
from hpo.study.progress import study_progress
from hpo.study.run import StudyHandle, create_study, open_study, run_trials
from hpo.study.spec import save_spec
from storage import open_storage

__all__ = ["DEMO_STUDY", "run_demo"]

DEMO_STUDY = "demo"


def run_demo(
    storage_url: str,
    artifact_dir: Path,
    console: Console,
    study_name: str = DEMO_STUDY,
    n_trials: int | None = None,
    seed: int = 0,
    final_seeds: int = DEFAULT_FINAL_SEEDS,
) -> StudyHandle:
    """Creates the demo study (or resumes it), runs it to its budget with live progress, then scores it.

    Args:
        n_trials: a budget above the stored one extends the study; ``None`` keeps it.
        final_seeds: retrainings for the final score of a new demo study (see `hpo.study.finalize`).
    """
    open_storage(storage_url)  # the demo creates its storage; `open_study` alone never does
    try:
        handle = open_study(storage_url, study_name)
        console.print(f"Resuming study {study_name!r} ({len(finished_trials(handle.study))} trials done).")
    except KeyError:
        resolved = resolve(StudyRequest(preset=PresetName.demo, n_trials=n_trials, seed=seed, final_seeds=final_seeds))
        spec = resolved.spec
        handle = create_study(storage_url, study_name, spec, resolved.enqueue)
        console.print(f"Created study {study_name!r} on {spec.data} ({spec.split_text()}).")
    if n_trials is not None and n_trials > handle.spec.n_trials:
        handle = replace(handle, spec=replace(handle.spec, n_trials=n_trials))
        save_spec(handle.study, handle.spec)
        save_study_note(handle.study, handle.spec)
    with study_progress(handle.study, handle.spec.n_trials, console) as display:
        run_trials(
            handle,
            artifact_dir=artifact_dir,
            keras_callbacks=display.keras_callbacks,
            trial_callbacks=[display.trial_finished],
        )
    finalize_when_over(
        handle,
        on_start=lambda trial, seeds: console.print(
            f"Final score: retraining trial #{trial}'s configuration with {seeds} fresh seed(s), "
            "scored on the locked test images."
        ),
        on_seed=lambda seed, dice: console.print(f"  seed {seed}: test DICE {dice:.4f}"),
    )
    return handle
