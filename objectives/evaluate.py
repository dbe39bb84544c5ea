"""Scores at each image's native resolution: what a published DICE means.

A model sees letterboxed squares; the literature scores masks on the images' own pixels. Each
prediction is mapped back (`objectives.data.restore_mask`: padding removed, resized to the
original size, thresholded) and compared with the ground truth drawn at that size, so padding
never counts and a small image weighs as much as a large one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from objectives.data.preprocess import restore_mask
from objectives.metrics import dice_per_image, iou_per_image, pixel_accuracy

__all__ = ["ImageScores", "score_at_native_resolution"]


@dataclass(frozen=True)
class ImageScores:
    """One value per image, in the order given."""

    dice: np.ndarray
    iou: np.ndarray
    pixel_accuracy: np.ndarray


def score_at_native_resolution(
    probabilities: np.ndarray, truths: Sequence[np.ndarray], threshold: float = 0.5
) -> ImageScores:
    """DICE, IoU and pixel accuracy of each prediction against its native-size ground truth.

    Args:
        probabilities: ``(n, s, s, 1)`` or ``(n, s, s)`` model outputs on the letterboxed images.
        truths: ``n`` 2-D {0, 1} masks, each at its image's original (height, width).
        threshold: probabilities at or above it count as lung.
    """
    if len(probabilities) != len(truths):
        raise ValueError(f"expected one ground truth per prediction, but got {len(truths)} for {len(probabilities)}")
    dice, iou, accuracy = [], [], []
    for prediction, truth in zip(probabilities, truths, strict=True):
        restored = restore_mask(prediction, (truth.shape[0], truth.shape[1]), threshold)[None]
        expected = (np.asarray(truth) > 0).astype(np.uint8)[None]
        dice.append(dice_per_image(expected, restored)[0])
        iou.append(iou_per_image(expected, restored)[0])
        accuracy.append(pixel_accuracy(expected, restored))
    return ImageScores(np.array(dice), np.array(iou), np.array(accuracy))
