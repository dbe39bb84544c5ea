"""Paired image/mask augmentation: one random affine map (and optional elastic field) per image, on any backend.

Image and mask are concatenated on the channel axis, resampled together by `PairedAugmentation`,
then split by `split_pair`, which re-binarises the mask. One transform for both is what keeps
them aligned. The ranges keep the meaning of the legacy ``ImageDataGenerator`` the researchers
used (rotation in degrees either way, shifts and zoom as fractions, shear as a factor), and the
geometry lives in `objectives.geometry`. Training runs the layer inside its compiled train step,
on the accelerator (`objectives.training_model`); `augment_pair` runs it on NumPy batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from objectives.config import AugmentConfig
from objectives.geometry import affine_matrices, resample, sampling_grid, smooth_displacement
from objectives.keras_setup import import_keras

if TYPE_CHECKING:
    import keras

__all__ = ["ELASTIC_GRID", "ELASTIC_REACH", "augment_pair", "build_augmenter", "moves", "split_pair", "stack_pair"]

ELASTIC_GRID = 6  # coarse noise points per side of the elastic field (smooth over about a sixth of the image)
ELASTIC_REACH = 0.1  # at elastic = 1, the largest elastic offset as a fraction of the image side


def moves(config: AugmentConfig) -> bool:
    """Whether a config transforms anything at all (all ranges 0 and no flips do not)."""
    return any(
        (config.rotation, config.width_shift, config.height_shift, config.shear, config.zoom, config.elastic,
         config.horizontal_flip, config.vertical_flip)
    )  # fmt: skip


def build_augmenter(config: AugmentConfig, seed: int) -> keras.layers.Layer | None:
    """A seeded `PairedAugmentation` layer for ``(batch, height, width, 2)`` image+mask tensors.

    Returns ``None`` where the config moves nothing.
    """
    if not moves(config):
        return None
    keras = import_keras()
    ops = keras.ops

    class PairedAugmentation(keras.layers.Layer):  # type: ignore[name-defined]  # a module bound at run time
        """Draws one transform per image (uniform in each range, flips with probability 1/2)."""

        def __init__(self) -> None:
            super().__init__(name="paired_augmentation")
            self.generator = keras.random.SeedGenerator(seed)

        def _uniform(self, batch: Any, limit: float) -> Any:
            return keras.random.uniform((batch,), -limit, limit, seed=self.generator)

        def _coin(self, batch: Any, enabled: bool) -> Any:
            if not enabled:
                return ops.zeros((batch,))
            return ops.cast(keras.random.uniform((batch,), 0.0, 1.0, seed=self.generator) < 0.5, "float32")

        def call(self, stacked: Any, training: bool = True) -> Any:
            if not training:
                return stacked
            stacked = ops.cast(stacked, "float32")
            batch = ops.shape(stacked)[0]
            height, width = int(stacked.shape[1]), int(stacked.shape[2])
            shift_r = height * self._uniform(batch, config.height_shift)
            shift_c = width * self._uniform(batch, config.width_shift)
            matrices = affine_matrices(
                angle_deg=self._uniform(batch, config.rotation),
                shear=(self._uniform(batch, config.shear), self._uniform(batch, config.shear)),
                zoom=(1.0 + self._uniform(batch, config.zoom), 1.0 + self._uniform(batch, config.zoom)),
                shift=(shift_r, shift_c),
                flip=(self._coin(batch, config.vertical_flip), self._coin(batch, config.horizontal_flip)),
            )  # fmt: skip
            grid = sampling_grid(matrices, height, width)
            if config.elastic > 0:
                noise = keras.random.uniform((batch, ELASTIC_GRID, ELASTIC_GRID, 2), -1.0, 1.0, seed=self.generator)
                grid = grid + smooth_displacement(
                    noise, height, width, config.elastic * ELASTIC_REACH * min(height, width)
                )
            return resample(stacked, grid, config.fill_mode)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

    return PairedAugmentation()


def stack_pair(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Image and mask as one float32 ``(n, h, w, 2)`` array: what the augmentation transforms."""
    return np.concatenate([images.astype(np.float32, copy=False), masks.astype(np.float32)], axis=-1)


def split_pair(stacked: Any) -> tuple[Any, Any]:
    """The image and the re-binarised mask of a stacked (and maybe transformed) pair, as tensors.

    Interpolation blurs the mask's edge; it is cut at 0.5 so that it stays binary.
    """
    ops = import_keras().ops
    return stacked[..., :1], ops.cast(stacked[..., 1:] >= 0.5, "float32")


def augment_pair(
    augmenter: keras.layers.Layer | None, images: np.ndarray, masks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Applies one random transform per sample to images and masks together.

    Args:
        augmenter: from `build_augmenter`; ``None`` returns the inputs unchanged.
        images: float32 ``(batch, h, w, 1)`` in [0, 1].
        masks: ``(batch, h, w, 1)`` in {0, 1}.

    Returns:
        float32 images and float32 masks in {0, 1}, as NumPy arrays.
    """
    if augmenter is None:
        return images, masks.astype(np.float32)
    ops = import_keras().ops
    image, mask = split_pair(augmenter(stack_pair(images, masks), training=True))
    return ops.convert_to_numpy(image).astype(np.float32), ops.convert_to_numpy(mask)
