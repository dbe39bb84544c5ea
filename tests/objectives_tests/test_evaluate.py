from __future__ import annotations

import numpy as np
import pytest

from objectives.evaluate import score_at_native_resolution


def test_padding_never_counts_and_scores_are_on_the_original_pixels() -> None:
    # A 4 x 8 (height x width) image in an 8 x 8 square sits in rows 2-5; rows 0-1 and 6-7 are padding.
    truth = np.zeros((4, 8), np.uint8)
    truth[:, :4] = 1  # the left half is lung: 16 pixels
    prediction = np.zeros((8, 8), np.float32)
    prediction[0:2, :] = 1.0  # lung "predicted" in the padding: must be ignored
    prediction[6:8, :] = 1.0
    prediction[2:6, :2] = 0.9  # a quarter of the image predicted: 8 pixels, all inside the truth
    scores = score_at_native_resolution(prediction[None, ..., None], [truth])
    # DICE = 2 * 8 / (16 + 8) = 2/3; IoU = 8 / 16 = 1/2; accuracy = (32 - 8 missed) / 32 = 3/4.
    assert scores.dice.tolist() == pytest.approx([2 / 3])
    assert scores.iou.tolist() == pytest.approx([0.5])
    assert scores.pixel_accuracy.tolist() == pytest.approx([0.75])


def test_each_image_keeps_its_own_size() -> None:
    wide, tall = np.ones((3, 6), np.uint8), np.zeros((6, 3), np.uint8)
    perfect = np.zeros((2, 6, 6), np.float32)
    perfect[0, 1:4, :] = 1.0  # the wide image fills rows 1.5-4.5 of the square: rows 1-3 after rounding
    scores = score_at_native_resolution(perfect, [wide, tall])
    assert scores.dice.tolist() == [1.0, 1.0]  # empty truth and empty prediction count as a match
    assert len(scores.iou) == 2


def test_one_truth_per_prediction() -> None:
    with pytest.raises(ValueError, match="one ground truth per prediction"):
        score_at_native_resolution(np.zeros((2, 4, 4)), [np.zeros((4, 4))])
