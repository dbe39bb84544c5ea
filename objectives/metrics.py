"""Segmentation metrics as pure NumPy functions.

Every metric is computed per image and then averaged over images, so a small lung counts as much
as a large one. Predictions are probabilities, binarised at ``threshold`` (0.5 by default).

Empty ground truth: when an image has no lung pixels, its DICE and IoU are 1.0 if the prediction
is empty too and 0.0 otherwise. This keeps the score defined for every image and punishes
hallucinated lungs, instead of silently dropping such images from the mean.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bootstrap_interval",
    "dice_per_image",
    "iou_per_image",
    "mean_dice",
    "mean_iou",
    "pixel_accuracy",
]


def _binarise(y_true: np.ndarray, y_pred: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, but got {y_true.shape} and {y_pred.shape}")
    if y_true.ndim < 2:
        raise ValueError(f"expected a batch of images, but got shape {y_true.shape}")
    truth = np.asarray(y_true) >= 0.5
    prediction = np.asarray(y_pred) >= threshold
    return truth.reshape(len(truth), -1), prediction.reshape(len(prediction), -1)


def dice_per_image(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Hard DICE ``2|A∩B| / (|A| + |B|)`` of each image in the batch (first axis)."""
    truth, prediction = _binarise(y_true, y_pred, threshold)
    intersection = np.logical_and(truth, prediction).sum(axis=1)
    total = truth.sum(axis=1) + prediction.sum(axis=1)
    return np.where(total == 0, 1.0, 2.0 * intersection / np.maximum(total, 1))


def iou_per_image(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Hard IoU ``|A∩B| / |A∪B|`` of each image in the batch (first axis)."""
    truth, prediction = _binarise(y_true, y_pred, threshold)
    intersection = np.logical_and(truth, prediction).sum(axis=1)
    union = np.logical_or(truth, prediction).sum(axis=1)
    return np.where(union == 0, 1.0, intersection / np.maximum(union, 1))


def mean_dice(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> float:
    return float(dice_per_image(y_true, y_pred, threshold).mean())


def mean_iou(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> float:
    return float(iou_per_image(y_true, y_pred, threshold).mean())


def pixel_accuracy(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> float:
    """Share of pixels whose binarised prediction matches the ground truth, over the batch."""
    truth, prediction = _binarise(y_true, y_pred, threshold)
    return float((truth == prediction).mean())


def bootstrap_interval(
    values: np.ndarray, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (e.g. one DICE per test image).

    The images are resampled with replacement ``resamples`` times; the interval holds the central
    ``confidence`` share of the resampled means. Seeded, so a study's interval is reproducible.
    """
    sample = np.asarray(values, dtype=np.float64).ravel()
    if sample.size == 0:
        raise ValueError("cannot bootstrap an empty sample")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), but got {confidence!r}")
    picks = np.random.default_rng(seed).integers(0, sample.size, size=(resamples, sample.size))
    means = sample[picks].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)
