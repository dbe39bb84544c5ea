from __future__ import annotations

import numpy as np
import pytest

from objectives.config import AugmentConfig, TrainConfig, UNetConfig
from objectives.phantom import make_phantom_dataset
from objectives.train import TrainingData, early_stopping_start, train, training_batches
from tests.objectives_tests import backend_checks

CONFIG = TrainConfig(
    image_size=32,
    batch_size=4,
    max_epochs=2,
    steps_per_epoch=3,
    unet=UNetConfig(base_filters=4, depth=2, dilated_layers=1),
    augmentation=AugmentConfig(rotation=30.0, width_shift=0.1, height_shift=0.1),
    seed=5,
)


@pytest.fixture(scope="module")
def data() -> TrainingData:
    images, masks = make_phantom_dataset(12, 32, seed=0)
    return TrainingData(images[:8], masks[:8], images[8:], masks[8:])


@pytest.mark.slow
def test_same_seed_same_run(data: TrainingData) -> None:
    first_model, first = train(CONFIG, data)
    second_model, second = train(CONFIG, data)
    assert first.history == second.history
    for a, b in zip(first_model.get_weights(), second_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    _, other = train(TrainConfig(**{**CONFIG.__dict__, "seed": 6}), data)
    assert other.history != first.history


def test_batches_follow_the_seed_and_cover_the_data(data: TrainingData) -> None:
    config = TrainConfig(**{**CONFIG.__dict__, "augment": False, "steps_per_epoch": 4})
    batches = training_batches(config, data.train_images, data.train_masks)
    again = training_batches(config, data.train_images, data.train_masks)
    first_epoch = [batches[step][0][..., :1] for step in range(len(batches))]
    for step, images in enumerate(first_epoch):
        np.testing.assert_array_equal(images, again[step][0][..., :1])
    # 4 steps of 4 images = two full passes over 8 images: every image appears exactly twice.
    seen = np.concatenate(first_epoch).reshape(16, -1)
    originals = data.train_images.reshape(8, -1)
    counts = [sum(np.array_equal(row, original) for row in seen) for original in originals]
    assert counts == [2] * 8
    batches.on_epoch_end()
    assert not np.array_equal(batches[0][0][..., :1], first_epoch[0])  # a new epoch reshuffles


def test_tensorflow_batches_are_gathered_on_the_host() -> None:
    # tf.data reads a PyDataset from NumPy; jax and torch gather on their device
    # (`backend_checks.batch_gather`, run on each in test_augment.py).
    assert backend_checks.batch_gather() == {"max_error": 0.0, "steps": 6, "on_device": 0.0}


def test_train_fraction_uses_a_subset(data: TrainingData) -> None:
    _, result = train(TrainConfig(**{**CONFIG.__dict__, "train_fraction": 0.5, "max_epochs": 1}), data)
    assert result.epochs_run == 1


def test_rejects_data_of_the_wrong_size(data: TrainingData) -> None:
    with pytest.raises(ValueError, match="data is 32 px but the config asks for 64 px"):
        train(TrainConfig(**{**CONFIG.__dict__, "image_size": 64}), data)


def test_training_data_checks_shapes() -> None:
    images, masks = make_phantom_dataset(4, 32, seed=0)
    with pytest.raises(ValueError, match="at least one training and one validation image"):
        TrainingData(images, masks, images[:0], masks[:0])


def _config(**changes: object) -> TrainConfig:
    return TrainConfig(**{**CONFIG.__dict__, **changes})


def test_the_warm_up_is_counted_in_optimizer_steps_and_rounded_up_to_whole_epochs() -> None:
    assert _config(warmup_steps=100, steps_per_epoch=10).warmup_epochs == 10
    assert _config(warmup_steps=100, steps_per_epoch=25).warmup_epochs == 4
    assert _config(warmup_steps=100, steps_per_epoch=30).warmup_epochs == 4  # 90 steps would fall short
    assert _config(warmup_steps=100, steps_per_epoch=100).warmup_epochs == 1
    assert _config(warmup_steps=0, steps_per_epoch=10).warmup_epochs == 0


def test_early_stopping_waits_out_the_warm_up_but_always_watches_the_last_epoch() -> None:
    assert early_stopping_start(_config(max_epochs=10, warmup_steps=6, steps_per_epoch=3)) == 2
    assert early_stopping_start(_config(max_epochs=10, warmup_steps=300, steps_per_epoch=3)) == 9
    assert early_stopping_start(_config(max_epochs=1, warmup_steps=6, steps_per_epoch=3)) == 0


def test_the_returned_model_is_the_best_by_validation_dice_after_the_warm_up(data: TrainingData) -> None:
    # patience 0: early stopping ends the run at the first epoch after the warm-up that does
    # not improve; the weights kept are those of the best watched epoch, never a warm-up one.
    config = _config(max_epochs=6, patience=0, learning_rate=3e-3, warmup_steps=6)  # two epochs of 3 steps
    _, result = train(config, data)
    watched = result.history["val_dice"][config.warmup_epochs :]
    assert result.epochs_run > config.warmup_epochs  # it never stops inside the warm-up
    assert result.val_dice == pytest.approx(max(watched), abs=1e-4)
