from __future__ import annotations

import numpy as np
import pytest

from objectives import metrics
from objectives.metrics import bootstrap_interval


def _batch(*rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, dtype=np.float32)[..., None]


def test_dice_iou_on_hand_computed_2x2() -> None:
    # truth has 2 lung pixels, prediction 3 (after thresholding 0.6 -> 1), overlap 2:
    # DICE = 2*2/(2+3) = 0.8, IoU = 2/3, accuracy = 3 of 4 pixels agree.
    truth = _batch([[1, 1], [0, 0]])
    prediction = _batch([[0.9, 0.6], [0.7, 0.2]])
    assert metrics.mean_dice(truth, prediction) == pytest.approx(0.8)
    assert metrics.mean_iou(truth, prediction) == pytest.approx(2 / 3)
    assert metrics.pixel_accuracy(truth, prediction) == pytest.approx(0.75)


def test_threshold_is_applied_to_predictions() -> None:
    # With threshold 0.65 only the 0.9 and 0.7 pixels are predicted: overlap 1, DICE 2/(2+2).
    truth = _batch([[1, 1], [0, 0]])
    prediction = _batch([[0.9, 0.6], [0.7, 0.2]])
    assert metrics.mean_dice(truth, prediction, threshold=0.65) == pytest.approx(0.5)


def test_mean_is_over_images_not_pixels() -> None:
    # Image 1: perfect (DICE 1). Image 2: 1 true pixel, prediction misses it entirely (DICE 0).
    truth = _batch([[1, 1], [1, 1]], [[1, 0], [0, 0]])
    prediction = _batch([[1, 1], [1, 1]], [[0, 0], [0, 1]])
    assert metrics.dice_per_image(truth, prediction).tolist() == [1.0, 0.0]
    assert metrics.mean_dice(truth, prediction) == pytest.approx(0.5)


def test_empty_ground_truth_rule() -> None:
    # No lung in the truth: an empty prediction scores 1, any predicted pixel scores 0.
    empty = _batch([[0, 0], [0, 0]])
    assert metrics.mean_dice(empty, empty) == 1.0
    assert metrics.mean_iou(empty, empty) == 1.0
    assert metrics.mean_dice(empty, _batch([[0, 0], [0, 0.8]])) == 0.0
    assert metrics.mean_iou(empty, _batch([[0, 0], [0, 0.8]])) == 0.0


def test_4x4_iou() -> None:
    # truth: left half (8 px); prediction: top half (8 px); overlap 4, union 12 -> IoU 1/3,
    # DICE 2*4/16 = 0.5.
    truth = np.zeros((1, 4, 4, 1))
    truth[0, :, :2] = 1
    prediction = np.zeros((1, 4, 4, 1))
    prediction[0, :2, :] = 1
    assert metrics.mean_iou(truth, prediction) == pytest.approx(1 / 3)
    assert metrics.mean_dice(truth, prediction) == pytest.approx(0.5)


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="same shape"):
        metrics.mean_dice(np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 3, 1)))


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible() -> None:
    values = np.array([0.90, 0.92, 0.94, 0.96, 0.98])  # mean 0.94
    low, high = bootstrap_interval(values, seed=1)
    assert 0.90 <= low < 0.94 < high <= 0.98
    assert bootstrap_interval(values, seed=1) == (low, high)
    # A constant sample has no spread to resample: the interval is the value itself.
    assert bootstrap_interval(np.full(4, 0.5)) == (0.5, 0.5)
    # Wider confidence, wider interval.
    narrow = bootstrap_interval(values, confidence=0.5, seed=1)
    assert low <= narrow[0] and narrow[1] <= high


def test_bootstrap_interval_refuses_an_empty_sample() -> None:
    with pytest.raises(ValueError, match="empty"):
        bootstrap_interval(np.array([]))
