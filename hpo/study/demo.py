"""`hpo demo`: the main job on embedded defaults (phantom data, SQLite), resumable."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.console import Console

from hpo.study.presets import PRESETS
from hpo.study.progress import study_progress
from hpo.study.run import (
    StudyHandle,
    create_study,
    finished_trials,
    make_spec,
    open_study,
    run_trials,
)
from hpo.study.spec import save_spec
from objectives.data import parse_source
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
) -> StudyHandle:
    """Creates the demo study (or resumes it) and runs it to its budget with live progress.

    Args:
        n_trials: a budget above the stored one extends the study; ``None`` keeps it.
    """
    preset = PRESETS["demo"]
    open_storage(storage_url)  # the demo creates its storage; `open_study` alone never does
    try:
        handle = open_study(storage_url, study_name)
        console.print(f"Resuming study {study_name!r} ({len(finished_trials(handle.study))} trials done).")
    except KeyError:
        spec, _ = make_spec(
            parse_source(preset.data),
            preset.space(),
            sampler=preset.sampler,
            pruner=preset.pruner,
            n_trials=n_trials or preset.n_trials,
            seed=seed,
            preset="demo",
        )
        handle = create_study(storage_url, study_name, spec)
        console.print(
            f"Created study {study_name!r} on {spec.data} ({len(spec.split.train)} training, "
            f"{len(spec.split.val)} validation images)."
        )
    if n_trials is not None and n_trials > handle.spec.n_trials:
        handle = replace(handle, spec=replace(handle.spec, n_trials=n_trials))
        save_spec(handle.study, handle.spec)
    done = finished_trials(handle.study)
    completed = [trial.value for trial in done if trial.value is not None]
    with study_progress(handle.spec.n_trials, len(done), max(completed, default=None), console) as display:
        run_trials(
            handle,
            artifact_dir=artifact_dir,
            keras_callbacks=display.keras_callbacks,
            trial_callbacks=[display.trial_finished],
        )
    return handle
