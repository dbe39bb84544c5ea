"""One training run of the lung U-Net from a `TrainConfig`; knows nothing about Optuna.

The objective, `hpo trial replay`, the benchmarks and the tests all train through `train`, so a
replayed trial runs exactly the code its study ran.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from objectives import metrics
from objectives.augment import build_augmenter, stack_pair
from objectives.config import TrainConfig
from objectives.device import compute_capability
from objectives.keras_metrics import make_loss, make_metrics
from objectives.keras_setup import import_keras
from objectives.training_model import build_training_model
from objectives.unet import build_unet

if TYPE_CHECKING:
    import keras

__all__ = [
    "DEVICE_RESIDENT_MAX_BYTES",
    "TrainResult",
    "TrainingData",
    "compiled_training_model",
    "resolve_precision",
    "run_precision",
    "train",
    "training_batches",
    "early_stopping_start",
]


@dataclass(frozen=True)
class TrainingData:
    """Arrays for one run: images float32 ``(n, s, s, 1)`` in [0, 1], masks in {0, 1}."""

    train_images: np.ndarray
    train_masks: np.ndarray
    val_images: np.ndarray
    val_masks: np.ndarray

    def __post_init__(self) -> None:
        if len(self.train_images) == 0 or len(self.val_images) == 0:
            raise ValueError(
                f"training needs at least one training and one validation image, but got "
                f"{len(self.train_images)} and {len(self.val_images)}"
            )
        for name in ("train", "val"):
            images, masks = getattr(self, f"{name}_images"), getattr(self, f"{name}_masks")
            if images.shape != masks.shape:
                raise ValueError(f"{name} images and masks differ in shape: {images.shape} vs {masks.shape}")

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[1])


@dataclass(frozen=True)
class TrainResult:
    """What a run achieved; the objective stores these as the trial's user attributes."""

    history: dict[str, list[float]]
    epochs_run: int
    early_stopping_epoch: int | None  # 1-based epoch at which early stopping ended the run
    train_accuracy: float
    val_accuracy: float
    val_dice: float  # of the returned model (best weights by validation DICE, after the warm-up)
    val_iou: float
    best_val_dice: float  # best per-epoch validation DICE
    best_val_iou: float
    train_time_s: float  # seconds inside model.fit
    images_per_second: float
    precision: str

    def summary(self) -> dict[str, Any]:
        """Scalar results, for trial attributes and JSON output."""
        return {key: value for key, value in self.__dict__.items() if key != "history"}


def early_stopping_start(config: TrainConfig) -> int:
    """Epochs that early stopping ignores, neither stopping in them nor restoring their weights.

    In the first epochs the batch-norm statistics that inference uses are still far from the
    data's (they move 10 % per step) and the network may predict lung everywhere, which scores a
    validation loss that later, better epochs can exceed while the augmented batches keep the
    statistics moving. Early stopping on the loss then restored a first-epoch model (validation
    DICE 0.41 on Shenzhen at 10 steps per epoch). So it watches validation DICE, the study's own
    metric, on which that degenerate model scores low, and only after a warm-up; the last epoch
    is always watched, so a short run still returns its best watched weights. The warm-up is
    counted in optimizer steps (``config.warmup_steps``), the same as the pruner's.
    """
    return min(config.warmup_epochs, config.max_epochs - 1)


# bf16 needs tensor cores that do bf16: NVIDIA compute capability 8.0 (Ampere) and newer.
BF16_CAPABILITY = (8, 0)


def resolve_precision(requested: str, capability: tuple[int, int] | None = None) -> str:
    """The Keras dtype policy a run trains with; ``auto`` is decided by the device.

    ``auto`` is bf16 mixed precision (``mixed_bfloat16``: float32 weights, bf16 activations) on a
    GPU of compute capability 8.0 or newer, and float32 elsewhere. `bench.gpu` measured bf16
    faster on an NVIDIA H200 on jax and torch, and mixed precision slows CPUs.

    Args:
        capability: the GPU's compute capability, ``None`` on a CPU (`objectives.device`).
    """
    if requested != "auto":
        return requested
    return "mixed_bfloat16" if capability is not None and capability >= BF16_CAPABILITY else "float32"


# On jax and torch the training pairs up to this size are uploaded once per run and each batch is
# gathered where training runs (the accelerator, if any); a larger set is gathered on the host.
# 1 GiB holds about 8,000 pairs at 128 px (2,000 at 256 px) and, with 3 processes on a GPU,
# keeps the copies to 3 GiB of its memory.
DEVICE_RESIDENT_MAX_BYTES = 1 << 30


def run_precision(config: TrainConfig) -> str:
    """The dtype policy a run of ``config`` trains with on this process's device (`resolve_precision`)."""
    return resolve_precision(config.precision, compute_capability() if config.precision == "auto" else None)


def training_batches(config: TrainConfig, images: np.ndarray, masks: np.ndarray) -> Any:
    """Seeded, reshuffled batches of stacked image/mask pairs as a Keras `PyDataset` (every backend).

    Item ``k`` is the 1-tuple ``(x,)`` of step ``k``'s batch: float32 ``(batch_size, s, s, 2)``
    (the masks travel in ``x``, so there are no targets), untransformed: the training model augments
    it inside its train step (`objectives.training_model`). On jax and torch the pairs are
    uploaded to the backend's device once (up to `DEVICE_RESIDENT_MAX_BYTES`) and a batch is a
    gather there, so per step the host sends ``batch_size`` row numbers rather than the images.
    TensorFlow reads a `PyDataset` through ``tf.data`` from NumPy, so there the host gathers the
    rows. Either way a step's batch holds the same rows, chosen by the seed alone.
    """
    keras = import_keras()
    stacked = stack_pair(images, masks)
    count = len(stacked)
    batch_size = config.batch_size
    resident = keras.backend.backend() in ("jax", "torch") and stacked.nbytes <= DEVICE_RESIDENT_MAX_BYTES
    rows = keras.ops.convert_to_tensor(stacked) if resident else stacked

    class _Batches(keras.utils.PyDataset):  # type: ignore[name-defined]  # a module bound at run time
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self._epoch = 0

        def __len__(self) -> int:
            return config.steps_per_epoch

        def _indices(self, step: int) -> np.ndarray:
            # Batch k of the run takes positions k*b .. (k+1)*b of an endless sequence of seeded
            # permutations, so the order is fixed by the seed alone, whatever the step count.
            start = (self._epoch * config.steps_per_epoch + step) * batch_size
            positions = np.arange(start, start + batch_size)
            chosen = np.empty(batch_size, dtype=np.int64)
            for pass_number in np.unique(positions // count):
                order = np.random.default_rng([config.seed, int(pass_number)]).permutation(count)
                selected = positions // count == pass_number
                chosen[selected] = order[positions[selected] % count]
            return chosen

        def __getitem__(self, step: int) -> tuple[Any]:
            chosen = self._indices(step)
            return (keras.ops.take(rows, chosen, axis=0) if resident else rows[chosen],)  # (x,): no targets

        def on_epoch_end(self) -> None:
            self._epoch += 1

    return _Batches()


def _training_subset(config: TrainConfig, data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    """The training images and masks a run uses: a seeded ``train_fraction`` of them, in order."""
    images, masks = data.train_images, data.train_masks
    if config.train_fraction < 1.0:
        keep = max(1, round(len(images) * config.train_fraction))
        subset = np.sort(np.random.default_rng([config.seed, 1 << 20]).permutation(len(images))[:keep])
        images, masks = images[subset], masks[subset]
    return images, masks


def compiled_training_model(config: TrainConfig, precision: str) -> keras.Model:
    """A fresh U-Net inside its training model (augmentation on when ``config.augment``), compiled."""
    keras = import_keras()
    unet = build_unet(config.unet, config.image_size, dtype_policy=precision)
    augmenter = build_augmenter(config.augmentation, config.seed) if config.augment else None
    model = build_training_model(unet, augmenter)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss=make_loss(config.loss),
        metrics=make_metrics(),
    )
    return model


def _validation_scores(model: keras.Model, config: TrainConfig, data: TrainingData) -> tuple[float, float, float]:
    """Pixel accuracy, mean DICE and mean IoU of the model's validation predictions."""
    masks = data.val_masks.astype(np.float32)
    predictions = model.predict(data.val_images, batch_size=max(config.batch_size, 32), verbose=0)
    return (
        metrics.pixel_accuracy(masks, predictions),
        metrics.mean_dice(masks, predictions),
        metrics.mean_iou(masks, predictions),
    )


def train(
    config: TrainConfig,
    data: TrainingData,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> tuple[keras.Model, TrainResult]:
    """Trains a fresh U-Net and evaluates it on the validation images.

    Args:
        config: the run's settings; ``config.seed`` fixes data order, augmentation and weights.
        data: train and validation arrays at ``config.image_size``.
        callbacks: extra Keras callbacks (pruning, progress). One that raises, such as Optuna's
            pruning callback, stops training at once and the exception propagates.

    Returns:
        The trained model (weights of the epoch with the highest validation DICE after the warm-up
        of `early_stopping_start`) and its results.
    """
    if data.image_size != config.image_size:
        raise ValueError(f"data is {data.image_size} px but the config asks for {config.image_size} px")
    keras = import_keras()
    keras.backend.clear_session()
    gc.collect()
    keras.utils.set_random_seed(config.seed)

    train_images, train_masks = _training_subset(config, data)
    precision = run_precision(config)
    model = compiled_training_model(config, precision)
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_dice",
        mode="max",
        patience=config.patience,
        restore_best_weights=True,
        start_from_epoch=early_stopping_start(config),
    )
    clock: list[float] = []  # the time training began, then the time each epoch ended
    timer = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: clock.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs: clock.append(time.perf_counter()),
    )
    history = model.fit(
        training_batches(config, train_images, train_masks),
        validation_data=(stack_pair(data.val_images, data.val_masks),),
        validation_batch_size=max(config.batch_size, 32),
        epochs=config.max_epochs,
        callbacks=[timer, early_stopping, *callbacks],
        verbose=0,
    ).history

    unet = model.unet
    val_accuracy, val_dice, val_iou = _validation_scores(unet, config, data)
    stopped, epochs, seconds = early_stopping.stopped_epoch, len(clock) - 1, clock[-1] - clock[0]
    result = TrainResult(
        history={key: [float(v) for v in values] for key, values in history.items()},
        epochs_run=epochs,
        early_stopping_epoch=stopped + 1 if stopped > 0 else None,
        train_accuracy=float(history["accuracy"][-1]),
        val_accuracy=val_accuracy,
        val_dice=val_dice,
        val_iou=val_iou,
        best_val_dice=float(max(history["val_dice"])),
        best_val_iou=float(max(history["val_iou"])),
        train_time_s=seconds,
        images_per_second=epochs * config.steps_per_epoch * config.batch_size / max(seconds, 1e-9),
        precision=precision,
    )
    return unet, result
