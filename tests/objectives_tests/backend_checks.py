"""Checks that must hold on every Keras backend; run in-process on TensorFlow and as a script
(``python backend_checks.py``) under ``KERAS_BACKEND=jax`` and ``torch``, printing JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from objectives import metrics  # noqa: E402
from objectives.augment import build_augmenter, stack_pair  # noqa: E402
from objectives.config import AugmentConfig, TrainConfig, UNetConfig  # noqa: E402
from objectives.geometry import affine_matrices, resample, sampling_grid  # noqa: E402
from objectives.keras_setup import import_keras  # noqa: E402
from objectives.phantom import make_phantom_dataset  # noqa: E402
from objectives.train import TrainingData, train  # noqa: E402
from objectives.training_model import build_training_model  # noqa: E402
from objectives.unet import build_unet  # noqa: E402

STRONG = AugmentConfig(
    rotation=180.0,
    width_shift=0.2,
    height_shift=0.2,
    shear=0.3,
    zoom=0.3,
    fill_mode="constant",
    elastic=0.5,
)


def alignment(config: AugmentConfig = STRONG, size: int = 48) -> dict[str, float]:
    """Augments phantoms whose image is a copy of the mask; afterwards they must still agree.

    The pairs are transformed by the training model's own `pairs`, the code its train step runs.
    """
    keras = import_keras()
    _, masks = make_phantom_dataset(8, size, seed=11)
    images = masks.astype(np.float32)
    unet = build_unet(UNetConfig(base_filters=2, depth=2, dilated_layers=0), size)
    model = build_training_model(unet, build_augmenter(config, seed=3))
    moved = model.pairs(keras.ops.convert_to_tensor(stack_pair(images, masks)), training=True)
    moved_images, moved_masks = (keras.ops.convert_to_numpy(tensor) for tensor in moved)
    return {
        "agreement_dice": metrics.mean_dice(moved_masks, moved_images),
        "changed_share": float((moved_masks != masks).mean()),
        "mask_share": float(moved_masks.mean()),
        "binary": float(set(np.unique(moved_masks).tolist()) <= {0.0, 1.0}),
    }


def geometry_errors() -> dict[str, float]:
    """Largest differences between `resample` and exact NumPy answers for maps that land on pixels.

    A flip, a quarter turn and an integer shift move every pixel onto a pixel, so bilinear
    resampling must reproduce them exactly; the three fill modes differ only in what moves in.
    """
    keras = import_keras()
    ops = keras.ops
    rng = np.random.default_rng(0)
    images = rng.random((2, 8, 8, 2)).astype(np.float32)
    zero, one = np.zeros(2, np.float32), np.ones(2, np.float32)

    def moved(angle=zero, shift=(zero, zero), flip=(zero, zero), fill_mode="constant") -> np.ndarray:  # type: ignore[no-untyped-def]
        tensor = ops.convert_to_tensor
        matrices = affine_matrices(
            tensor(angle), (tensor(zero), tensor(zero)), (tensor(one), tensor(one)),
            (tensor(shift[0]), tensor(shift[1])), (tensor(flip[0]), tensor(flip[1])),
        )  # fmt: skip
        return ops.convert_to_numpy(resample(tensor(images), sampling_grid(matrices, 8, 8), fill_mode))

    two = np.full(2, 2.0, np.float32)
    shifted = np.zeros_like(images)
    shifted[:, 2:] = images[:, :-2]
    nearest, reflect = shifted.copy(), shifted.copy()
    nearest[:, :2] = images[:, :1]
    reflect[:, 0], reflect[:, 1] = images[:, 1], images[:, 0]
    quarter = moved(angle=np.full(2, 90.0, np.float32))
    return {
        "identity": float(np.abs(moved() - images).max()),
        "horizontal_flip": float(np.abs(moved(flip=(zero, one)) - images[:, :, ::-1]).max()),
        "vertical_flip": float(np.abs(moved(flip=(one, zero)) - images[:, ::-1]).max()),
        "quarter_turn": float(min(np.abs(quarter - np.rot90(images, k, axes=(1, 2))).max() for k in (1, 3))),
        "shift_constant": float(np.abs(moved(shift=(two, zero)) - shifted).max()),
        "shift_nearest": float(np.abs(moved(shift=(two, zero), fill_mode="nearest") - nearest).max()),
        "shift_reflect": float(np.abs(moved(shift=(two, zero), fill_mode="reflect") - reflect).max()),
    }


def metric_agreement() -> dict[str, float]:
    """The Keras DICE and IoU metrics against the NumPy ones on random predictions."""
    keras = import_keras()
    rng = np.random.default_rng(0)
    truth = (rng.random((6, 16, 16, 1)) > 0.6).astype(np.float32)
    truth[0] = 0.0  # one image without lung, to exercise the empty-truth rule
    prediction = rng.random((6, 16, 16, 1)).astype(np.float32)
    prediction[0] = 0.1
    from objectives.keras_metrics import make_metrics

    results = {}
    for metric in make_metrics():
        metric.update_state(keras.ops.convert_to_tensor(truth[:3]), keras.ops.convert_to_tensor(prediction[:3]))
        metric.update_state(keras.ops.convert_to_tensor(truth[3:]), keras.ops.convert_to_tensor(prediction[3:]))
        results[metric.name] = float(keras.ops.convert_to_numpy(metric.result()))
    return {
        "dice_error": abs(results["dice"] - metrics.mean_dice(truth, prediction)),
        "iou_error": abs(results["iou"] - metrics.mean_iou(truth, prediction)),
        "accuracy_error": abs(results["accuracy"] - metrics.pixel_accuracy(truth, prediction)),
    }


def batch_gather() -> dict[str, float]:
    """`training_batches` against the same PyDataset gathering on the host, over two epochs.

    On jax and torch the pairs live on the backend's device and each batch is gathered there;
    every batch must hold exactly the rows the host gather picks. ``on_device`` is 1.0 there.
    """
    from objectives import train as train_module

    keras = import_keras()
    images, masks = make_phantom_dataset(10, 16, seed=5)
    config = TrainConfig(image_size=16, batch_size=4, steps_per_epoch=3, seed=2)
    gathered = train_module.training_batches(config, images, masks)
    limit, train_module.DEVICE_RESIDENT_MAX_BYTES = train_module.DEVICE_RESIDENT_MAX_BYTES, 0
    try:
        on_host = train_module.training_batches(config, images, masks)
    finally:
        train_module.DEVICE_RESIDENT_MAX_BYTES = limit
    error, steps = 0.0, 0
    for _ in range(2):
        for step in range(len(gathered)):
            (batch,), (expected,) = gathered[step], on_host[step]
            assert isinstance(expected, np.ndarray) and expected.shape == (4, 16, 16, 2)
            error = max(error, float(np.abs(keras.ops.convert_to_numpy(batch) - expected).max()))
            steps += 1
        gathered.on_epoch_end()
        on_host.on_epoch_end()
    return {"max_error": error, "steps": steps, "on_device": float(not isinstance(gathered[0][0], np.ndarray))}


def tiny_training() -> dict[str, float]:
    images, masks = make_phantom_dataset(12, 32, seed=0)
    data = TrainingData(images[:8], masks[:8], images[8:], masks[8:])
    config = TrainConfig(
        image_size=32,
        batch_size=4,
        max_epochs=2,
        steps_per_epoch=2,
        unet=UNetConfig(base_filters=4, depth=2, dilated_layers=1),
        augmentation=AugmentConfig(elastic=0.2),
    )
    _, result = train(config, data)
    return {
        "epochs_run": result.epochs_run,
        "val_dice": result.val_dice,
        "history_epochs": len(result.history["val_dice"]),
    }


if __name__ == "__main__":
    keras = import_keras()
    print(
        json.dumps(
            {
                "backend": keras.backend.backend(),
                "alignment": alignment(),
                "geometry": geometry_errors(),
                "metrics": metric_agreement(),
                "batches": batch_gather(),
                "training": tiny_training(),
            }
        )
    )
