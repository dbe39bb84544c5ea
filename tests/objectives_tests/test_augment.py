from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from objectives.augment import augment_pair, build_augmenter, moves
from objectives.config import AugmentConfig
from objectives.phantom import make_phantom_dataset
from tests.objectives_tests import backend_checks


def test_a_config_that_moves_nothing_builds_no_augmenter() -> None:
    still = AugmentConfig(
        rotation=0, width_shift=0, height_shift=0, shear=0, zoom=0, horizontal_flip=False, vertical_flip=False
    )
    assert not moves(still)
    assert build_augmenter(still, seed=0) is None
    assert moves(AugmentConfig(rotation=0, width_shift=0, height_shift=0, shear=0, zoom=0, vertical_flip=False))
    assert build_augmenter(backend_checks.STRONG, seed=0) is not None


def test_flips_turns_and_shifts_are_exact_on_tensorflow() -> None:
    assert max(backend_checks.geometry_errors().values()) < 1e-5


def test_the_same_seed_draws_the_same_transforms() -> None:
    images, masks = make_phantom_dataset(4, 32, seed=1)
    first = augment_pair(build_augmenter(backend_checks.STRONG, seed=7), images, masks)
    again = augment_pair(build_augmenter(backend_checks.STRONG, seed=7), images, masks)
    other = augment_pair(build_augmenter(backend_checks.STRONG, seed=8), images, masks)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])
    # One draw per image: the images of a batch are not all moved alike.
    shares = [float((first[1][i] != masks[i]).mean()) for i in range(4)]
    assert len(set(shares)) > 1


def test_disabled_augmentation_is_identity() -> None:
    images = np.random.default_rng(0).random((2, 8, 8, 1)).astype(np.float32)
    masks = (images > 0.5).astype(np.uint8)
    same_images, same_masks = augment_pair(None, images, masks)
    np.testing.assert_array_equal(same_images, images)
    np.testing.assert_array_equal(same_masks, masks)


def test_image_and_mask_stay_aligned_on_tensorflow() -> None:
    result = backend_checks.alignment()
    assert result["agreement_dice"] > 0.97
    assert result["changed_share"] > 0.05  # the transform did move things
    assert result["mask_share"] > 0.02  # and did not lose the mask
    assert result["binary"] == 1.0


@pytest.mark.parametrize("fill_mode", ["nearest", "reflect"])
def test_alignment_with_other_fill_modes(fill_mode: str) -> None:
    config = AugmentConfig(rotation=45.0, width_shift=0.3, height_shift=0.3, fill_mode=fill_mode)
    assert backend_checks.alignment(config)["agreement_dice"] > 0.97


def test_keras_metrics_match_numpy_on_tensorflow() -> None:
    errors = backend_checks.metric_agreement()
    assert max(errors.values()) < 1e-5


@pytest.mark.slow
@pytest.mark.backends
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_same_checks_pass_on_other_backends(backend: str) -> None:
    pytest.importorskip(backend)
    script = Path(backend_checks.__file__)
    completed = subprocess.run(
        [sys.executable, str(script)],
        env={**os.environ, "KERAS_BACKEND": backend},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["backend"] == backend
    assert result["alignment"]["agreement_dice"] > 0.97
    assert result["alignment"]["changed_share"] > 0.05
    assert max(result["geometry"].values()) < 1e-5
    assert result["alignment"]["changed_share"] > 0.05
    assert result["alignment"]["mask_share"] > 0.02
    assert max(result["metrics"].values()) < 1e-5
    # The pairs live on the backend's device; each batch gathered there holds the host's rows.
    assert result["batches"] == {"max_error": 0.0, "steps": 6, "on_device": 1.0}
    assert result["training"]["epochs_run"] == 2
    assert 0.0 <= result["training"]["val_dice"] <= 1.0
