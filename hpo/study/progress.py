"""Live progress of a running study: trial n of N, the current epoch, the best DICE so far."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

if TYPE_CHECKING:
    import keras
    import optuna

__all__ = ["StudyProgress", "study_progress"]


@dataclass
class StudyProgress:
    """Hooks a Rich progress display into Keras (epochs) and Optuna (trials)."""

    progress: Progress
    trials_task: TaskID
    epochs_task: TaskID
    best: float | None = None

    def trial_finished(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        from optuna.trial import TrialState

        if trial.state == TrialState.COMPLETE and trial.value is not None:
            self.best = trial.value if self.best is None else max(self.best, trial.value)
        best = "—" if self.best is None else f"{self.best:.4f}"
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            self.progress.advance(self.trials_task)
        self.progress.update(self.trials_task, description=f"trials · best DICE {best}")

    def keras_callbacks(self, trial: optuna.trial.Trial, max_epochs: int) -> Sequence[keras.callbacks.Callback]:
        from objectives.keras_setup import import_keras

        keras = import_keras()
        display = self
        display.progress.reset(display.epochs_task, total=max_epochs, description=f"trial #{trial.number} epochs")

        class _EpochProgress(keras.callbacks.Callback):  # type: ignore[name-defined]  # a module bound at run time
            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                dice = (logs or {}).get("val_dice")
                suffix = "" if dice is None else f" · val DICE {dice:.3f}"
                display.progress.update(
                    display.epochs_task,
                    completed=epoch + 1,
                    description=f"trial #{trial.number} epochs{suffix}",
                )

        return [_EpochProgress()]


@contextmanager
def study_progress(
    total_trials: int, already_finished: int, best: float | None, console: Console
) -> Iterator[StudyProgress]:
    """A live two-line display (trials, epochs of the running trial) for the block's duration."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        trials_task = progress.add_task("trials", total=total_trials, completed=already_finished)
        epochs_task = progress.add_task("epochs", total=1)
        display = StudyProgress(progress, trials_task, epochs_task, best)
        best_text = "—" if best is None else f"{best:.4f}"
        progress.update(trials_task, description=f"trials · best DICE {best_text}")
        yield display
