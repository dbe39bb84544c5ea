"""The seed preset's baseline trained by lung-hpo against a plain Keras run of the same configuration.

The researchers' baseline (batch 8, 10 epochs of 100 steps, rotation 180, shift 0.3, shear and
zoom 0.1, both flips, constant fill) is trained twice on real chest X-rays
(``folder:../shared/data/shenzhen-256``), on the split a default study of that data gets:

- **lung-hpo**: `objectives.train.train`, exactly as a trial of the ``seed`` preset runs it
  (seeded batches, paired augmentation, early stopping on validation DICE after a warm-up);
- **plain Keras**: the few lines a researcher would write in a notebook, sharing nothing with
  the training code but the U-Net builder: a random-batch generator, the augmentation as Keras
  preprocessing layers on image and mask stacked, BCE plus soft Dice, ``model.fit`` for the 10
  epochs, the last weights kept.

Both are scored the same way: validation DICE at the trained size, and DICE on the locked test
images at each image's native resolution. The two must agree within 0.01 test DICE; a
collapsed run (a model that predicts lung everywhere scores about 0.4) shows at once.

Run: ``python -m bench.reference [--data folder:PATH] [--seeds 1] [--steps-per-epoch 100]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from bench.common import machine, publish
from bench.real_data import DEFAULT_DATA
from hpo.study.presets import PRESETS, PresetName, make_spec
from objectives.config import TrainConfig
from objectives.data import load_native, parse_source
from objectives.evaluate import score_at_native_resolution
from objectives.keras_setup import import_keras
from objectives.metrics import mean_dice
from objectives.objective import DataProvider
from objectives.space import BASELINE, config_from_params
from objectives.train import TrainingData, train
from objectives.unet import build_unet

AGREEMENT = 0.01  # the largest test-DICE gap between the two arms that counts as the same result
_TIME_NOTE = (
    "train min is each arm's wall time, for orientation only: this benchmark compares results, and "
    "bench.pipeline compares speed under controlled conditions."
)


def _plain_keras(config: TrainConfig, data: TrainingData) -> Any:
    """The baseline as a notebook would train it: no lung-hpo code but the architecture."""
    keras = import_keras()
    ops = keras.ops
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    settings = config.augmentation
    augmenter = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal_and_vertical"),
            keras.layers.RandomRotation(settings.rotation / 360.0, fill_mode="constant"),
            keras.layers.RandomShear(settings.shear, settings.shear, fill_mode="constant"),
            keras.layers.RandomTranslation(settings.height_shift, settings.width_shift, fill_mode="constant"),
            keras.layers.RandomZoom(settings.zoom, settings.zoom, fill_mode="constant"),
        ]
    )
    rng = np.random.default_rng(config.seed)

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while True:
            chosen = rng.integers(0, len(data.train_images), config.batch_size)
            pair = np.concatenate([data.train_images[chosen], data.train_masks[chosen].astype("float32")], axis=-1)
            moved = ops.convert_to_numpy(augmenter(pair, training=True))
            yield moved[..., :1], (moved[..., 1:] > 0.5).astype("float32")

    def loss(y_true: Any, y_pred: Any) -> Any:
        overlap = ops.sum(y_true * y_pred, axis=(1, 2, 3))
        total = ops.sum(y_true, axis=(1, 2, 3)) + ops.sum(y_pred, axis=(1, 2, 3))
        soft_dice = (2 * overlap + 1) / (total + 1)
        return ops.mean(keras.losses.binary_crossentropy(y_true, y_pred)) + 1.0 - ops.mean(soft_dice)

    model = build_unet(config.unet, config.image_size)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss)
    model.fit(
        batches(),
        steps_per_epoch=config.steps_per_epoch,
        epochs=config.max_epochs,
        validation_data=(data.val_images, data.val_masks.astype("float32")),
        shuffle=False,  # the generator draws random batches itself
        verbose=0,
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=f"folder:{DEFAULT_DATA}")
    parser.add_argument("--seeds", type=int, default=1, help="training seeds per arm")
    parser.add_argument("--steps-per-epoch", type=int, default=int(BASELINE["steps_per_epoch"]))
    arguments = parser.parse_args()
    source = parse_source(arguments.data)
    space = PRESETS[PresetName.seed].space().with_overrides({"steps_per_epoch": arguments.steps_per_epoch})
    spec, _ = make_spec(source, space, sampler="random", pruner="none", n_trials=1, seed=0, final_seeds=0)
    params = dict(BASELINE)
    size = config_from_params(space, params, seed=0).image_size
    provider = DataProvider(source, spec.split)
    data = provider.training_data(size)
    test_images = provider.dataset(size).images[list(spec.split.test)]
    truths = [item.mask for item in load_native(source, spec.split.test, image_size=size)]

    rows: list[dict[str, Any]] = []
    gaps: list[float] = []
    for seed in range(arguments.seeds):
        config = config_from_params(space, params, seed=seed)
        scores: dict[str, float] = {}
        for arm in ("lung-hpo", "plain Keras"):
            started = time.perf_counter()
            if arm == "lung-hpo":
                model, result = train(config, data)
                epochs = result.epochs_run
            else:
                model, epochs = _plain_keras(config, data), config.max_epochs
            seconds = time.perf_counter() - started
            val_dice = mean_dice(data.val_masks.astype("float32"), model.predict(data.val_images, verbose=0))
            test = score_at_native_resolution(model.predict(test_images, verbose=0), truths)
            scores[arm] = float(test.dice.mean())
            rows.append(
                {
                    "arm": arm,
                    "seed": seed,
                    "epochs": epochs,
                    "val DICE": val_dice,
                    "test DICE (native)": scores[arm],
                    "test IoU (native)": float(test.iou.mean()),
                    "train min": seconds / 60,
                }
            )
        gaps.append(scores["lung-hpo"] - scores["plain Keras"])
    worst = max(abs(gap) for gap in gaps)
    verdict = "within" if worst <= AGREEMENT else "NOT within"
    info = machine()
    info.update(
        {
            "data": str(source),
            "image_size": size,
            "steps_per_epoch": config.steps_per_epoch,
            "train/val/test images": f"{len(spec.split.train)}/{len(spec.split.val)}/{len(spec.split.test)}",
        }
    )
    publish(
        "reference",
        "The seed preset's baseline: lung-hpo against a plain Keras run (Shenzhen)",
        rows,
        notes=[
            f"Test DICE of lung-hpo minus plain Keras, per seed: {', '.join(f'{gap:+.4f}' for gap in gaps)}; "
            f"{verdict} {AGREEMENT} (largest gap {worst:.4f}).",
            _TIME_NOTE,
        ],
        meta=info,
    )


if __name__ == "__main__":
    main()
