"""The picture a researcher puts in a report: images with true and predicted lungs overlaid."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["PREDICTION_COLOUR", "TRUTH_COLOUR", "overlay_mask", "prediction_figure"]

TRUTH_COLOUR = np.array([40, 200, 80], dtype=np.float32)  # green
PREDICTION_COLOUR = np.array([230, 60, 50], dtype=np.float32)  # red


def overlay_mask(
    image: np.ndarray, mask: np.ndarray | None, colour: np.ndarray = TRUTH_COLOUR, alpha: float = 0.45
) -> np.ndarray:
    """An RGB ``uint8`` picture of a 2-D image in [0, 1] with the mask's pixels tinted.

    The one lung overlay of lung-hpo: reports, data previews and predictions all draw it.

    Args:
        image: 2-D gray values in [0, 1].
        mask: 2-D booleans (or {0, 1}) of the same shape; ``None`` draws the image alone.
        colour: `TRUTH_COLOUR` for ground truth, `PREDICTION_COLOUR` for a model's output.
    """
    grey = np.repeat((np.clip(image, 0.0, 1.0) * 255.0)[..., None], 3, axis=-1)
    if mask is None:
        return grey.astype(np.uint8)
    blended = np.where(mask[..., None] > 0, (1 - alpha) * grey + alpha * colour, grey)
    return blended.astype(np.uint8)


def prediction_figure(
    images: np.ndarray,
    masks: np.ndarray,
    predictions: np.ndarray,
    scores: np.ndarray | None = None,
    max_rows: int = 4,
    tile: int = 160,
) -> bytes:
    """A PNG grid: one row per image with the X-ray, ground truth (green) and prediction (red).

    Args:
        images, masks, predictions: ``(n, s, s, 1)`` arrays; predictions are probabilities.
        scores: optional per-image DICE printed on each row.
        max_rows: images shown at most.
        tile: side of each tile in pixels.
    """
    rows = min(max_rows, len(images))
    header = 18
    canvas = Image.new("RGB", (3 * tile, rows * (tile + header)), "white")
    draw = ImageDraw.Draw(canvas)
    for row in range(rows):
        image = images[row, ..., 0]
        tiles = [
            overlay_mask(image, None),
            overlay_mask(image, masks[row, ..., 0] >= 0.5, TRUTH_COLOUR),
            overlay_mask(image, predictions[row, ..., 0] >= 0.5, PREDICTION_COLOUR),
        ]
        top = row * (tile + header)
        titles = ["X-ray", "ground truth", "prediction"]
        if scores is not None:
            titles[2] += f" (DICE {scores[row]:.3f})"
        for column, (array, title) in enumerate(zip(tiles, titles, strict=True)):
            picture = Image.fromarray(array).resize((tile, tile), Image.Resampling.NEAREST)
            canvas.paste(picture, (column * tile, top + header))
            draw.text((column * tile + 4, top + 3), title, fill="black")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()
