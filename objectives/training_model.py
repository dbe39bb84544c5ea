"""The U-Net wrapped for training, with the paired augmentation inside its compiled train step.

The trainer feeds it image and mask stacked on the channel axis, ``(batch, h, w, 2)``. In
training the wrapper transforms each pair with one draw of `PairedAugmentation`, splits it, and
returns the U-Net's prediction with the transformed mask beside it; the loss and the metrics
compare the two. So augmentation runs where the train step runs (XLA on JAX, the GPU on torch,
a graph on TensorFlow) rather than eagerly on NumPy batches in the Python thread; the batch's
rows are gathered on the device on jax and torch (`objectives.train.training_batches`). In
validation nothing is transformed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from objectives.augment import split_pair
from objectives.keras_setup import import_keras

if TYPE_CHECKING:
    import keras

__all__ = ["build_training_model", "network_of"]


def build_training_model(unet: keras.Model, augmenter: keras.layers.Layer | None) -> keras.Model:
    """A model whose input is a stacked image/mask pair and whose `unet` attribute is the network.

    Its weights are the U-Net's (the augmentation holds only seed state), so early stopping's
    best weights are the U-Net's. Compile it like the U-Net itself: the compiled loss and
    metrics receive the transformed mask as ``y_true``.
    """
    keras = import_keras()
    ops = keras.ops

    class _TrainingModel(keras.Model):  # type: ignore[name-defined]  # a module bound at run time
        def __init__(self) -> None:
            super().__init__(name="lung_unet_training")
            self.unet = unet
            self.augmenter = augmenter

        def build(self, input_shape: Any) -> None:
            if self.augmenter is not None:
                self.augmenter.build(input_shape)

        def pairs(self, stacked: Any, training: bool = False) -> tuple[Any, Any]:
            """The (transformed, in training) image and binary mask of a stacked batch."""
            if training and self.augmenter is not None:
                stacked = self.augmenter(stacked, training=True)
            return split_pair(stacked)

        def call(self, stacked: Any, training: bool = False) -> Any:
            image, mask = self.pairs(stacked, training)
            prediction = ops.cast(self.unet(image, training=training), "float32")
            return ops.concatenate([prediction, mask], axis=-1)

        def compute_loss(
            self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None, training: bool = True
        ) -> Any:
            return super().compute_loss(x, y_pred[..., 1:], y_pred[..., :1], sample_weight, training)

        def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> Any:
            return super().compute_metrics(x, y_pred[..., 1:], y_pred[..., :1], sample_weight)

    return _TrainingModel()


def network_of(model: keras.Model) -> keras.Model:
    """The U-Net of a model that Keras callbacks see (the training model), or the model itself.

    A callback's ``self.model`` is the training model, whose input is a stacked pair; predicting
    images, saving or reading the input size are the U-Net's business.
    """
    return getattr(model, "unet", model)
