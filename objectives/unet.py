"""The dilated lung U-Net, built from plain configuration with Keras 3 layers only.

An encoder of ``depth`` levels (two 3x3 convolutions each, filters doubling), a bottleneck whose
dilated convolutions (rates 1, 2, 4, ...) are summed to widen the receptive field without more
down-sampling, and a mirrored decoder with skip connections; 'same' padding throughout and a
sigmoid output. The output layer stays float32 so that mixed precision keeps a stable loss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from objectives.config import UNetConfig
from objectives.keras_setup import import_keras

if TYPE_CHECKING:
    import keras

__all__ = ["build_unet"]


def build_unet(config: UNetConfig, image_size: int, dtype_policy: str = "float32") -> keras.Model:
    """Builds (does not compile) the U-Net for square single-channel images.

    Args:
        config: shape of the network.
        image_size: side of the input images; divisible by ``2 ** config.depth``, which
            `TrainConfig` checks.
        dtype_policy: Keras dtype policy of the hidden layers, e.g. ``"mixed_bfloat16"``.
    """
    keras = import_keras()
    layers = keras.layers

    def conv_block(x: keras.KerasTensor, filters: int, dilation: int = 1) -> keras.KerasTensor:  # type: ignore[name-defined]  # a module bound at run time
        x = layers.Conv2D(
            filters,
            3,
            padding="same",
            dilation_rate=dilation,
            use_bias=not config.batch_norm,
            dtype=dtype_policy,
        )(x)
        if config.batch_norm:
            x = layers.BatchNormalization(momentum=0.9, dtype=dtype_policy)(x)
        return layers.Activation("relu", dtype=dtype_policy)(x)

    inputs = keras.Input(shape=(image_size, image_size, 1), name="image")
    x = inputs
    skips = []
    for level in range(config.depth):
        filters = config.base_filters * 2**level
        x = conv_block(conv_block(x, filters), filters)
        skips.append(x)
        x = layers.MaxPooling2D(dtype=dtype_policy)(x)

    filters = config.base_filters * 2**config.depth
    x = conv_block(x, filters)
    if config.dilated_layers:
        dilated = [x]
        for index in range(config.dilated_layers):
            dilated.append(conv_block(dilated[-1], filters, dilation=2**index))
        x = layers.Add(dtype=dtype_policy)(dilated)
    if config.dropout > 0:
        x = layers.Dropout(config.dropout, dtype=dtype_policy)(x)

    for level in reversed(range(config.depth)):
        filters = config.base_filters * 2**level
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", dtype=dtype_policy)(x)
        x = layers.Concatenate(dtype=dtype_policy)([x, skips[level]])
        x = conv_block(conv_block(x, filters), filters)

    outputs = layers.Conv2D(1, 1, activation="sigmoid", dtype="float32", name="mask")(x)
    return keras.Model(inputs, outputs, name="lung_unet")
