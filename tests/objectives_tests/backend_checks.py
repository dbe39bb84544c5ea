"""Checks that must hold on every Keras backend; run in-process on TensorFlow and as a script
(``python backend_checks.py``) under ``KERAS_BACKEND=jax`` and ``torch``, printing JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from objectives import metrics  # noqa: E402
from objectives.augment import augment_pair, build_augmenter  # noqa: E402
from objectives.config import AugmentConfig, TrainConfig, UNetConfig  # noqa: E402
from objectives.keras_setup import import_keras  # noqa: E402
from objectives.phantom import make_phantom_dataset  # noqa: E402
from objectives.train import TrainingData, train  # noqa: E402

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
    """Augments phantoms whose image is a copy of the mask; afterwards they must still agree."""
    _, masks = make_phantom_dataset(8, size, seed=11)
    images = masks.astype(np.float32)
    moved_images, moved_masks = augment_pair(build_augmenter(config, seed=3), images, masks)
    return {
        "agreement_dice": metrics.mean_dice(moved_masks, moved_images),
        "changed_share": float((moved_masks != masks).mean()),
        "mask_share": float(moved_masks.mean()),
        "binary": float(set(np.unique(moved_masks).tolist()) <= {0.0, 1.0}),
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
                "metrics": metric_agreement(),
                "training": tiny_training(),
            }
        )
    )
