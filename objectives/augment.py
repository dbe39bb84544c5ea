"""Paired image/mask augmentation with Keras 3 preprocessing layers, on any backend.

Image and mask are concatenated on the channel axis, transformed by one stack of random layers,
then split, and the mask is re-binarised. One transform for both is what keeps them aligned:
Keras 3.15's dict mode loses the mask under `RandomRotation` on torch, and
`RandomElasticTransform` does not warp an image and its mask alike there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from objectives.config import AugmentConfig
from objectives.keras_setup import import_keras

if TYPE_CHECKING:
    import keras

__all__ = ["augment_pair", "build_augmenter", "layer_settings"]


def layer_settings(config: AugmentConfig) -> list[tuple[str, dict[str, Any]]]:
    """The Keras layers (class name, arguments) that realise a config; pure, so it is testable.

    The ranges follow the legacy ``ImageDataGenerator`` meaning the researchers used: rotation in
    degrees either way, shifts and zoom as fractions, shear as a factor. This is the one place
    where they become Keras arguments (Keras takes rotation as a fraction of a full turn).
    """
    fill = {"fill_mode": config.fill_mode, "fill_value": 0.0}
    layers: list[tuple[str, dict[str, Any]]] = []
    flip_mode = {
        (True, True): "horizontal_and_vertical",
        (True, False): "horizontal",
        (False, True): "vertical",
    }.get((config.horizontal_flip, config.vertical_flip))
    if flip_mode:
        layers.append(("RandomFlip", {"mode": flip_mode}))
    if config.rotation > 0:
        layers.append(("RandomRotation", {"factor": config.rotation / 360.0, **fill}))
    if config.shear > 0:
        layers.append(("RandomShear", {"x_factor": config.shear, "y_factor": config.shear, **fill}))
    if config.width_shift > 0 or config.height_shift > 0:
        layers.append(
            (
                "RandomTranslation",
                {"height_factor": config.height_shift, "width_factor": config.width_shift, **fill},
            )
        )
    if config.zoom > 0:
        layers.append(("RandomZoom", {"height_factor": config.zoom, "width_factor": config.zoom, **fill}))
    if config.elastic > 0:
        layers.append(
            (
                "RandomElasticTransform",
                {"factor": config.elastic, "scale": 1.0, "value_range": (0.0, 1.0), **fill},
            )
        )
    return layers


def build_augmenter(config: AugmentConfig, seed: int) -> keras.Sequential | None:
    """A stack of seeded random layers for ``(batch, height, width, 2)`` image+mask tensors.

    Returns ``None`` where the config moves nothing (all ranges 0, no flips).
    """
    settings = layer_settings(config)
    if not settings:
        return None
    keras = import_keras()
    return keras.Sequential(
        [getattr(keras.layers, name)(seed=seed + index, **kwargs) for index, (name, kwargs) in enumerate(settings)],
        name="paired_augmentation",
    )


def augment_pair(
    augmenter: keras.Sequential | None, images: np.ndarray, masks: np.ndarray
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
    keras = import_keras()
    stacked = np.concatenate([images, masks.astype(np.float32)], axis=-1)
    moved = keras.ops.convert_to_numpy(augmenter(stacked, training=True))
    return moved[..., :1].astype(np.float32), (moved[..., 1:] >= 0.5).astype(np.float32)
