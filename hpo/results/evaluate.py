"""A trained model scored on any data source, the way a study's final score is measured.

`evaluate_model` loads the source at the model's input size, predicts every image, and scores
each prediction against the ground truth at the image's native resolution
(`objectives.evaluate`). It writes one row per image to ``per-image.csv`` and the worst images
to ``worst.png`` (X-ray, ground truth, prediction), so a user sees where the model fails.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from objectives.data import DataSource

__all__ = ["Evaluation", "evaluate_model"]

_WORST_SHOWN = 4  # rows of worst.png


@dataclass(frozen=True)
class Evaluation:
    """Mean scores over the source's images, and the files written."""

    source: str
    images: int
    dice: float
    dice_ci95: tuple[float, float]  # bootstrap over images
    iou: float
    pixel_accuracy: float
    worst: tuple[str, ...]  # names of the lowest-DICE images, worst first
    per_image_csv: Path
    worst_png: Path
    resolution: str = "native"


def evaluate_model(
    model_path: Path, source: DataSource, out_dir: Path, threshold: float = 0.5, batch_size: int = 16
) -> Evaluation:
    """Scores the model on every usable image of ``source`` at native resolution.

    Args:
        model_path: a ``.keras`` file, e.g. from ``hpo model export``.
        source: from `objectives.data.parse_source`.
        out_dir: folder for ``per-image.csv`` and ``worst.png``; created.
        threshold: probabilities at or above it count as lung.
    """
    from hpo.results.predict import input_size, load_model
    from objectives.data import load_dataset, load_native
    from objectives.evaluate import score_at_native_resolution
    from objectives.figures import prediction_figure
    from objectives.metrics import bootstrap_interval

    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], but got {threshold!r}")
    model = load_model(model_path)
    size = input_size(model)
    dataset = load_dataset(source, size)
    probabilities = np.asarray(model.predict(dataset.images, batch_size=batch_size, verbose=0))
    native = load_native(source, range(len(dataset)), image_size=size)
    scores = score_at_native_resolution(probabilities, [item.mask for item in native], threshold)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_image = out_dir / "per-image.csv"
    with per_image.open("w", newline="", encoding="utf-8") as sink:
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(["image", "height", "width", "dice", "iou", "pixel_accuracy"])
        for index, item in enumerate(native):
            height, width = item.mask.shape
            values = (scores.dice[index], scores.iou[index], scores.pixel_accuracy[index])
            writer.writerow([item.name, height, width, *(f"{value:.6f}" for value in values)])
    order = np.argsort(scores.dice, kind="stable")[:_WORST_SHOWN]
    worst_png = out_dir / "worst.png"
    worst_png.write_bytes(
        prediction_figure(dataset.images[order], dataset.masks[order], probabilities[order], scores.dice[order])
    )
    return Evaluation(
        source=str(source),
        images=len(dataset),
        dice=float(scores.dice.mean()),
        dice_ci95=bootstrap_interval(scores.dice),
        iou=float(scores.iou.mean()),
        pixel_accuracy=float(scores.pixel_accuracy.mean()),
        worst=tuple(native[index].name for index in order),
        per_image_csv=per_image,
        worst_png=worst_png,
    )
