"""Live progress on the terminal: trial n of N, the running trial's epochs, the best DICE so far.

`progress_bar` is the one Rich progress layout of lung-hpo; `study_progress` feeds it from
Optuna (trials) and Keras (epochs) through the same `TrialRecord` every reader uses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from hpo.results.records import TrialRecord, best, records_of

if TYPE_CHECKING:
    import keras
    import optuna

__all__ = ["StudyProgress", "progress_bar", "study_progress"]


def progress_bar(console: Console | None) -> Progress:
    """Description, bar, n/N and elapsed time; hidden when ``console`` is None."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
    )


def _trials_line(top: TrialRecord | None) -> str:
    return f"trials · best DICE {'—' if top is None or top.value is None else f'{top.value:.4f}'}"


@dataclass
class StudyProgress:
    """Hooks a Rich progress display into Keras (epochs) and Optuna (trials)."""

    progress: Progress
    trials_task: TaskID
    epochs_task: TaskID
    best: TrialRecord | None = None

    def trial_finished(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        record = TrialRecord.from_trial(trial)
        self.best = best([record, *([] if self.best is None else [self.best])])
        if record.finished:
            self.progress.advance(self.trials_task)
        self.progress.update(self.trials_task, description=_trials_line(self.best))

    def keras_callbacks(self, trial: optuna.trial.Trial, max_epochs: int) -> Sequence[keras.callbacks.Callback]:
        from objectives.keras_setup import import_keras

        keras = import_keras()
        self.progress.reset(self.epochs_task, total=max_epochs, description=f"trial #{trial.number} epochs")

        def epoch_end(epoch: int, logs: dict[str, Any] | None) -> None:
            dice = (logs or {}).get("val_dice")
            suffix = "" if dice is None else f" · val DICE {dice:.3f}"
            self.progress.update(
                self.epochs_task, completed=epoch + 1, description=f"trial #{trial.number} epochs{suffix}"
            )

        return [keras.callbacks.LambdaCallback(on_epoch_end=epoch_end)]


@contextmanager
def study_progress(study: optuna.Study, budget: int, console: Console) -> Iterator[StudyProgress]:
    """A live two-line display (trials, epochs of the running trial) for the block's duration."""
    records = records_of(study)
    progress = progress_bar(console)
    with progress:
        finished = sum(record.finished for record in records)
        trials_task = progress.add_task(_trials_line(best(records)), total=budget, completed=finished)
        epochs_task = progress.add_task("epochs", total=1)
        yield StudyProgress(progress, trials_task, epochs_task, best(records))
