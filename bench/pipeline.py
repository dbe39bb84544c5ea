"""Training throughput of the full pipeline against a bare `model.fit` and a legacy CPU pipeline.

Three ways to feed the same U-Net the same images, timed on the epochs after the first (which
pays for graph building):

- ``bare fit``: `model.fit` on preloaded arrays, no augmentation: the ceiling;
- ``lung-hpo``: the trainer's seeded batches into its training model, whose train step augments
  each image/mask pair with one affine map (`objectives.geometry`), without and with elastic
  deformation;
- ``legacy CPU``: per-image SciPy affine warps and elastic deformation in the style of the old
  ``ImageDataGenerator``, the way the researchers' notebooks augmented.

Run: ``python -m bench.pipeline [--image-size 128] [--batch-size 8] [--steps 10] [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from bench.common import machine, publish
from objectives.config import AugmentConfig, TrainConfig, UNetConfig
from objectives.keras_metrics import make_loss, make_metrics
from objectives.keras_setup import import_keras
from objectives.phantom import make_phantom_dataset
from objectives.train import compiled_training_model, training_batches
from objectives.unet import build_unet

BASELINE_AUGMENT = AugmentConfig(rotation=180, width_shift=0.3, height_shift=0.3, shear=0.1, zoom=0.1)


def _legacy_batches(images: np.ndarray, masks: np.ndarray, batch_size: int, steps: int, elastic: float) -> Any:
    """Per-image CPU augmentation with SciPy, one image at a time, as legacy generators did."""
    from scipy import ndimage

    keras = import_keras()
    rng = np.random.default_rng(0)
    size = images.shape[1]

    def transform(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        angle = np.deg2rad(rng.uniform(-180, 180))
        shear = rng.uniform(-0.1, 0.1)
        zoom = rng.uniform(0.9, 1.1)
        shift = rng.uniform(-0.3, 0.3, size=2) * size
        matrix = np.array([[np.cos(angle), -np.sin(angle) + shear], [np.sin(angle), np.cos(angle)]]) / zoom
        centre = np.array([size / 2, size / 2])
        offset = centre - matrix @ centre + shift
        warped = [ndimage.affine_transform(a, matrix, offset=offset, order=1, mode="constant") for a in (image, mask)]
        if elastic > 0:
            displacement = [
                ndimage.gaussian_filter(rng.uniform(-1, 1, (size, size)), 4) * elastic * size for _ in range(2)
            ]
            grid = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
            coordinates = [grid[0] + displacement[0], grid[1] + displacement[1]]
            warped = [ndimage.map_coordinates(a, coordinates, order=1, mode="constant") for a in warped]
        if rng.random() < 0.5:
            warped = [np.fliplr(a) for a in warped]
        if rng.random() < 0.5:
            warped = [np.flipud(a) for a in warped]
        return warped[0], (warped[1] >= 0.5).astype(np.float32)

    class _Legacy(keras.utils.PyDataset):  # type: ignore[name-defined]  # a module bound at run time
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)

        def __len__(self) -> int:
            return steps

        def __getitem__(self, step: int) -> tuple[np.ndarray, np.ndarray]:
            chosen = rng.integers(0, len(images), batch_size)
            pairs = [transform(images[i, ..., 0], masks[i, ..., 0].astype(np.float32)) for i in chosen]
            return (
                np.stack([p[0] for p in pairs])[..., None].astype(np.float32),
                np.stack([p[1] for p in pairs])[..., None],
            )

    return _Legacy()


def timed_fit(model: Any, feed: Any, epochs: int, steps: int, batch_size: int, arrays: bool) -> float:
    """Images per second over the epochs after the first."""
    keras = import_keras()
    times: list[float] = []

    class _EpochTimer(keras.callbacks.Callback):  # type: ignore[name-defined]  # a module bound at run time
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times.append(time.perf_counter() - self.started)

    if arrays:
        images, masks = feed
        model.fit(
            images,
            masks,
            batch_size=batch_size,
            epochs=epochs,
            steps_per_epoch=steps,
            verbose=0,
            callbacks=[_EpochTimer()],
        )
    else:
        model.fit(feed, epochs=epochs, verbose=0, callbacks=[_EpochTimer()])
    return steps * batch_size / float(np.mean(times[1:]))


def _augmentation_only(feed: Any, steps: int, batch_size: int, augmenter: Any = None) -> float:
    """Images/s of producing the batches alone; ``augmenter`` transforms lung-hpo's stacked batches."""
    produce = feed.__getitem__ if augmenter is None else (lambda step: augmenter(feed[step][0], training=True))
    produce(0)
    started = time.perf_counter()
    for step in range(steps):
        produce(step)
    return steps * batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="batches per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per variant; the first is not timed")
    arguments = parser.parse_args()
    keras = import_keras()
    size, batch, steps, epochs = arguments.image_size, arguments.batch_size, arguments.steps, arguments.epochs
    # Enough images that one epoch of preloaded arrays never runs out of batches.
    images, masks = make_phantom_dataset(batch * steps, size, seed=0)
    unet = UNetConfig(base_filters=16, depth=4, dilated_layers=2)

    def fresh_model(jit_compile: bool | str = "auto") -> Any:
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        model = build_unet(unet, size)
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss=make_loss("bce_dice"),
            metrics=make_metrics(),
            jit_compile=jit_compile,
        )
        return model

    def config(augmentation: AugmentConfig | None) -> TrainConfig:
        """The run's config; ``None`` switches augmentation off."""
        return TrainConfig(
            image_size=size,
            batch_size=batch,
            steps_per_epoch=steps,
            unet=unet,
            augment=augmentation is not None,
            augmentation=augmentation or AugmentConfig(),
        )

    arrays = (images, masks.astype(np.float32))
    elastic = AugmentConfig(**{**BASELINE_AUGMENT.__dict__, "elastic": 0.3})
    variants: list[tuple[str, Any, TrainConfig | None]] = [
        ("bare fit, preloaded arrays, no augmentation", arrays, None),
        ("bare fit, XLA forced on (jit_compile=True)", arrays, None),
        ("lung-hpo pipeline, no augmentation", None, config(None)),
        ("lung-hpo pipeline, baseline augmentation", None, config(BASELINE_AUGMENT)),
        ("lung-hpo pipeline, baseline + elastic 0.3", None, config(elastic)),
        ("legacy per-image SciPy, baseline augmentation", _legacy_batches(images, masks, batch, steps, 0.0), None),
        ("legacy per-image SciPy, baseline + elastic", _legacy_batches(images, masks, batch, steps, 0.05), None),
    ]
    rows: list[dict[str, Any]] = []
    ceiling = None
    for name, feed, run in variants:
        row: dict[str, Any] = {"pipeline": name}
        if run is not None:  # lung-hpo: the trainer's batches into its training model
            keras.backend.clear_session()
            keras.utils.set_random_seed(0)
            model = compiled_training_model(run, "float32")
            feed = training_batches(run, images, masks)
            throughput = timed_fit(model, feed, epochs, steps, batch, False)
            row["augmentation-only images/s"] = _augmentation_only(feed, steps, batch, model.augmenter)
        else:
            preloaded = name.startswith("bare fit")
            throughput = timed_fit(
                fresh_model(True if "XLA" in name else "auto"), feed, epochs, steps, batch, preloaded
            )
            row["augmentation-only images/s"] = "—" if preloaded else _augmentation_only(feed, steps, batch)
        ceiling = ceiling or throughput
        only = row.pop("augmentation-only images/s")
        rows.append({**row, "train images/s": throughput, "ratio to bare fit": throughput / ceiling,
                     "augmentation-only images/s": only})  # fmt: skip
    info = machine()
    info.update({"image_size": size, "batch_size": batch, "steps_per_epoch": steps})
    publish(
        "pipeline",
        f"Training pipeline throughput ({size} px, batch {batch})",
        rows,
        notes=[
            "Timed over the epochs after the first; U-Net 16 base filters, depth 4, 2 dilated layers. "
            "Keras' jit_compile='auto' (what training uses) is compared with XLA forced on."
        ],
        meta=info,
    )


if __name__ == "__main__":
    main()
