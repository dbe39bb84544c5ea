"""Thin Keras wrappers of the metrics in `objectives.metrics`, plus the training losses.

They use `keras.ops` only, so they run inside the compiled train and test steps of every
backend; tests check them against the NumPy functions on the same arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from objectives.keras_setup import import_keras

if TYPE_CHECKING:
    import keras

__all__ = ["make_loss", "make_metrics"]


def _per_image(values: Any, ops: Any) -> Any:
    return ops.reshape(values, (ops.shape(values)[0], -1))


def make_metrics(threshold: float = 0.5) -> list[keras.metrics.Metric]:
    """Pixel accuracy, hard DICE and hard IoU, named ``accuracy``, ``dice`` and ``iou``."""
    keras = import_keras()
    ops = keras.ops

    class _PerImageMean(keras.metrics.Metric):  # type: ignore[name-defined]  # a module bound at run time
        """Mean over images of a per-image score; the same empty-mask rule as the NumPy one."""

        def __init__(self, name: str, union: bool) -> None:
            super().__init__(name=name)
            self._union = union
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")
            self.count = self.add_variable(shape=(), initializer="zeros", name="count")

        def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
            truth = ops.cast(_per_image(y_true, ops) >= 0.5, "float32")
            prediction = ops.cast(_per_image(y_pred, ops) >= threshold, "float32")
            intersection = ops.sum(truth * prediction, axis=1)
            sizes = ops.sum(truth, axis=1) + ops.sum(prediction, axis=1)
            if self._union:
                denominator = sizes - intersection
                score = ops.where(denominator == 0, 1.0, intersection / ops.maximum(denominator, 1.0))
            else:
                score = ops.where(sizes == 0, 1.0, 2.0 * intersection / ops.maximum(sizes, 1.0))
            self.total.assign_add(ops.sum(score))
            self.count.assign_add(ops.cast(ops.shape(score)[0], "float32"))

        def result(self) -> Any:
            return self.total / ops.maximum(self.count, 1.0)

        def reset_state(self) -> None:
            self.total.assign(0.0)
            self.count.assign(0.0)

    return [
        keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold),
        _PerImageMean("dice", union=False),
        _PerImageMean("iou", union=True),
    ]


def make_loss(name: str) -> Any:
    """``"bce"``: binary cross-entropy; ``"bce_dice"``: BCE plus (1 - soft DICE per image)."""
    keras = import_keras()
    ops = keras.ops
    bce = keras.losses.BinaryCrossentropy()
    if name == "bce":
        return bce
    if name != "bce_dice":
        raise ValueError(f"loss must be 'bce' or 'bce_dice', but got {name!r}")

    def bce_dice(y_true: Any, y_pred: Any) -> Any:
        truth = ops.cast(_per_image(y_true, ops), "float32")
        prediction = ops.cast(_per_image(y_pred, ops), "float32")
        intersection = ops.sum(truth * prediction, axis=1)
        sizes = ops.sum(truth, axis=1) + ops.sum(prediction, axis=1)
        soft_dice = (2.0 * intersection + 1.0) / (sizes + 1.0)
        return bce(y_true, y_pred) + 1.0 - ops.mean(soft_dice)

    return bce_dice
