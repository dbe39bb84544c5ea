"""The Optuna objective: sample a config, train the U-Net, record everything, return DICE.

Validation DICE is reported to the trial after every epoch and the study's pruner may stop the
run at once. Each completed trial uploads a prediction figure as an artifact; a trial that beats
every earlier one also uploads its model in Keras format.
"""

from __future__ import annotations

import os
import platform
import socket
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from objectives import metrics
from objectives.data import Dataset, DataSource, Split, load_dataset
from objectives.figures import prediction_figure
from objectives.keras_setup import import_keras
from objectives.space import SearchSpace, suggest_config
from objectives.train import TrainingData, TrainResult, run_precision, train
from objectives.training_model import network_of

if TYPE_CHECKING:
    import keras
    import optuna
    from optuna.artifacts import FileSystemArtifactStore

__all__ = [
    "FIGURE_ARTIFACT",
    "MODEL_ARTIFACT",
    "WORKER_GROUP_VARIABLE",
    "DataProvider",
    "LungObjective",
    "record_result",
    "runtime_versions",
]

# Set by `hpo worker`'s supervisor in its children's environment and recorded on their trials
# (``worker_group``), so that it finds its own children's trials where host names and process ids
# repeat (containers sharing the host's network number their processes alike).
WORKER_GROUP_VARIABLE = "HPO_WORKER_GROUP"
FIGURE_ARTIFACT = "predictions.png"
MODEL_ARTIFACT = "model.keras"
KerasCallbackFactory = Callable[["optuna.trial.Trial", int], Sequence["keras.callbacks.Callback"]]


@dataclass
class DataProvider:
    """Loads the study's data once per image size and cuts it by the study's fixed split.

    Only the training and validation parts are ever handed out: the test part is locked.
    """

    source: DataSource
    split: Split
    _loaded: dict[int, Dataset] = field(default_factory=dict)

    def dataset(self, image_size: int) -> Dataset:
        if image_size not in self._loaded:
            self._loaded[image_size] = load_dataset(self.source, image_size)
        return self._loaded[image_size]

    def training_data(self, image_size: int) -> TrainingData:
        dataset = self.dataset(image_size)
        needed = max((*self.split.train, *self.split.val, *self.split.test)) + 1
        if len(dataset) < needed:
            raise ValueError(
                f"the study's split needs {needed} images but {self.source} now has {len(dataset)}; "
                "the data changed since the study was created"
            )
        train_index, val_index = np.array(self.split.train), np.array(self.split.val)
        return TrainingData(
            dataset.images[train_index],
            dataset.masks[train_index],
            dataset.images[val_index],
            dataset.masks[val_index],
        )


def runtime_versions() -> dict[str, str]:
    """Backend, device and library versions, recorded with every trial for reproducibility."""
    import optuna

    from objectives.device import training_device

    keras = import_keras()
    return {
        "keras_backend": keras.backend.backend(),
        "device": training_device(),
        "keras_version": keras.__version__,
        "optuna_version": optuna.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
    }


def record_result(trial: optuna.trial.Trial, result: TrainResult) -> None:
    """Stores a run's scalar results as the trial's user attributes."""
    for key, value in result.summary().items():
        trial.set_user_attr(key, value)


def _epoch_counter() -> Any:
    """A Keras callback counting finished epochs; its ``model`` is the model it watches.

    It outlives a run that pruning stopped, so that the pruned trial can still show its model.
    """
    keras = import_keras()

    class EpochCounter(keras.callbacks.Callback):  # type: ignore[name-defined]  # a module bound at run time
        epochs = 0

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.epochs = epoch + 1

    return EpochCounter()


class LungObjective:
    """Callable objective for `optuna.Study.optimize`; returns validation DICE (maximise).

    Args:
        space: the study's search space.
        data: the study's data and split.
        base_seed: trial ``n`` trains with seed ``base_seed + n``.
        artifact_store: where figures and models go; ``None`` uploads nothing.
        keras_callbacks: builds extra Keras callbacks (e.g. progress) for a trial and its epochs.
    """

    def __init__(
        self,
        space: SearchSpace,
        data: DataProvider,
        base_seed: int = 0,
        artifact_store: FileSystemArtifactStore | None = None,
        keras_callbacks: KerasCallbackFactory | None = None,
    ) -> None:
        self.space = space
        self.data = data
        self.base_seed = base_seed
        self.artifact_store = artifact_store
        self.keras_callbacks = keras_callbacks

    def __call__(self, trial: optuna.trial.Trial) -> float:
        import optuna

        import_keras()  # first, so that Keras (and its backend) load quietly
        from optuna_integration import KerasPruningCallback

        seed = self.base_seed + trial.number
        trial.set_user_attr("seed", seed)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        group = os.environ.get(WORKER_GROUP_VARIABLE)
        if group:
            trial.set_user_attr("worker_group", group)
        for key, value in runtime_versions().items():
            trial.set_user_attr(key, value)
        # Optuna keeps the rest: run time (start and end), epochs (one DICE reported per epoch,
        # the pruned one included) and the uploaded files (artifact metadata).
        last = _epoch_counter()
        try:
            config = suggest_config(trial, self.space, seed)
            trial.set_user_attr("precision", run_precision(config))  # a pruned trial has it too
            data = self.data.training_data(config.image_size)
            extra = self.keras_callbacks(trial, config.max_epochs) if self.keras_callbacks else ()
            # `last` comes before the pruning callback, which raises at the end of the epoch it prunes.
            model, result = train(config, data, callbacks=[last, KerasPruningCallback(trial, "val_dice"), *extra])
        except optuna.TrialPruned:
            # A pruned trial shows why it was stopped: its epochs and its last epoch's predictions.
            trial.set_user_attr("epochs_run", last.epochs)
            if self.artifact_store is not None and last.model is not None:
                self._upload(trial, network_of(last.model), data, None)
            raise
        except Exception as error:
            trial.set_user_attr("failure", f"{type(error).__name__}: {error}")
            raise
        record_result(trial, result)
        if self.artifact_store is not None:
            self._upload(trial, model, data, result)
        return result.val_dice

    def _upload(self, trial: optuna.trial.Trial, model: Any, data: TrainingData, result: TrainResult | None) -> None:
        """Uploads the prediction figure, and the model when it beats the study's best (``result``)."""
        shown = slice(0, 4)
        predictions = model.predict(data.val_images[shown], verbose=0)
        scores = metrics.dice_per_image(data.val_masks[shown], predictions)
        figure = prediction_figure(data.val_images[shown], data.val_masks[shown], predictions, scores)
        try:
            best_so_far = trial.study.best_value  # Optuna's best: the highest completed DICE
        except ValueError:  # no trial has completed yet
            best_so_far = float("-inf")
        with tempfile.TemporaryDirectory(prefix="lung-hpo-") as folder:
            figure_path = Path(folder) / FIGURE_ARTIFACT
            figure_path.write_bytes(figure)
            self._attach(trial, figure_path, "image/png")
            if result is not None and result.val_dice > best_so_far:
                model_path = Path(folder) / MODEL_ARTIFACT
                model.save(model_path)
                self._attach(trial, model_path, "application/octet-stream")

    def _attach(self, trial: optuna.trial.Trial, path: Path, mimetype: str) -> None:
        """Uploads a file as the trial's artifact; readers find it by its file name."""
        from optuna.artifacts import upload_artifact

        assert self.artifact_store is not None
        upload_artifact(
            artifact_store=self.artifact_store, file_path=str(path), study_or_trial=trial, mimetype=mimetype
        )
