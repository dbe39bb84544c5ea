"""The geometry of the augmentation in `keras.ops`: one affine map per image and one bilinear resampling.

Rotation, shear, zoom, shift and flips are composed into a single 2x3 matrix per image, and an
optional smooth displacement field is added, so a batch is resampled once: one interpolation
(rather than one per transform, which blurs) and a few dozen batched kernels on any backend.
Keras' own image layers resample once per layer, and on torch loop over the images of a batch
in Python, launching thousands of small GPU kernels per step (``bench.gpu`` measured it).

Coordinates are (row, column) in pixels; a matrix maps an output pixel to the input position it
reads, about the image's centre.
"""

from __future__ import annotations

import math
from typing import Any

from objectives.keras_setup import import_keras

__all__ = ["affine_matrices", "resample", "sampling_grid", "smooth_displacement"]


def affine_matrices(
    angle_deg: Any,
    shear: tuple[Any, Any],
    zoom: tuple[Any, Any],
    shift: tuple[Any, Any],
    flip: tuple[Any, Any],
) -> Any:
    """``(batch, 2, 2)`` linear parts and ``(batch, 2)`` offsets as one ``(batch, 2, 3)`` tensor.

    Args:
        angle_deg: rotation per image, degrees.
        shear: per image, the factors ``(s_r, s_c)`` of the shear matrix ``[[1, s_r], [s_c, 1]]``.
        zoom: (rows, columns) zoom per image: above 1 shows less of the image (magnifies).
        shift: (rows, columns) shift per image, pixels.
        flip: (rows, columns) per image, 1.0 to flip along that axis, else 0.0.
    """
    ops = import_keras().ops
    angle = angle_deg * (math.pi / 180.0)
    cos, sin = ops.cos(angle), ops.sin(angle)
    # Output -> input: flip, then undo zoom, shear and rotation, composed as plain 2x2 products.
    flip_r, flip_c = 1.0 - 2.0 * flip[0], 1.0 - 2.0 * flip[1]
    zoom_r, zoom_c = 1.0 / zoom[0], 1.0 / zoom[1]
    # rotation @ shear @ diag(zoom) @ diag(flip), each entry written out
    a = cos * zoom_r * flip_r + (-sin) * shear[1] * zoom_r * flip_r  # row <- row
    b = cos * shear[0] * zoom_c * flip_c + (-sin) * zoom_c * flip_c  # row <- column
    c = sin * zoom_r * flip_r + cos * shear[1] * zoom_r * flip_r  # column <- row
    d = sin * shear[0] * zoom_c * flip_c + cos * zoom_c * flip_c  # column <- column
    rows = ops.stack([a, b, -shift[0]], axis=-1)
    columns = ops.stack([c, d, -shift[1]], axis=-1)
    return ops.stack([rows, columns], axis=1)


def sampling_grid(matrices: Any, height: int, width: int) -> Any:
    """``(batch, height, width, 2)`` input positions that each output pixel reads."""
    ops = import_keras().ops
    centre_r, centre_c = (height - 1) / 2.0, (width - 1) / 2.0
    rows = ops.arange(height, dtype="float32") - centre_r
    columns = ops.arange(width, dtype="float32") - centre_c
    grid_r = ops.broadcast_to(ops.reshape(rows, (1, height, 1)), (1, height, width))
    grid_c = ops.broadcast_to(ops.reshape(columns, (1, 1, width)), (1, height, width))

    def entry(i: int, j: int) -> Any:
        return ops.reshape(matrices[:, i, j], (-1, 1, 1))

    read_r = entry(0, 0) * grid_r + entry(0, 1) * grid_c + entry(0, 2) + centre_r
    read_c = entry(1, 0) * grid_r + entry(1, 1) * grid_c + entry(1, 2) + centre_c
    return ops.stack([read_r, read_c], axis=-1)


def smooth_displacement(noise: Any, height: int, width: int, amplitude: float) -> Any:
    """A smooth random field ``(batch, height, width, 2)`` of pixel offsets from coarse noise.

    Args:
        noise: ``(batch, g, g, 2)`` values in [-1, 1]; bilinear upsampling makes them smooth.
        amplitude: the largest offset, in pixels.
    """
    ops = import_keras().ops
    return ops.image.resize(noise, (height, width), interpolation="bilinear") * amplitude


def _fold(position: Any, size: int, fill_mode: str) -> Any:
    """Positions outside ``[0, size - 1]`` brought inside for the ``nearest`` and ``reflect`` fills."""
    ops = import_keras().ops
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a: reflect about the outer pixel edges
        period = 2.0 * size
        folded = ops.mod(position + 0.5, period)
        position = ops.where(folded < size, folded, period - folded) - 0.5
    if fill_mode in ("reflect", "nearest"):
        position = ops.clip(position, 0.0, size - 1.0)
    return position


def resample(images: Any, grid: Any, fill_mode: str = "constant") -> Any:
    """Bilinear samples of ``images`` ``(batch, h, w, c)`` at ``grid`` positions ``(batch, h, w, 2)``.

    ``constant`` reads 0 outside the image; ``nearest`` repeats the edge; ``reflect`` mirrors it.
    """
    ops = import_keras().ops
    _, height, width, channels = ops.shape(images)  # the batch may be unknown in a traced graph
    read_r = _fold(grid[..., 0], height, fill_mode)
    read_c = _fold(grid[..., 1], width, fill_mode)
    top, left = ops.floor(read_r), ops.floor(read_c)
    weight_r, weight_c = read_r - top, read_c - left
    flat = ops.reshape(images, (-1, height * width, channels))

    def corner(row: Any, column: Any, weight: Any) -> Any:
        inside = (row >= 0) & (row <= height - 1) & (column >= 0) & (column <= width - 1)
        index = ops.cast(ops.clip(row, 0, height - 1) * width + ops.clip(column, 0, width - 1), "int32")
        index = ops.repeat(ops.reshape(index, (-1, height * width, 1)), channels, axis=-1)
        values = ops.reshape(ops.take_along_axis(flat, index, axis=1), (-1, height, width, channels))
        return values * ops.expand_dims(weight * ops.cast(inside, images.dtype), -1)

    return (
        corner(top, left, (1.0 - weight_r) * (1.0 - weight_c))
        + corner(top, left + 1.0, (1.0 - weight_r) * weight_c)
        + corner(top + 1.0, left, weight_r * (1.0 - weight_c))
        + corner(top + 1.0, left + 1.0, weight_r * weight_c)
    )
