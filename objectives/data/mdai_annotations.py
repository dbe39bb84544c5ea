"""Which of an MD.ai export's labels are lungs, and which annotations can be drawn: pure rules.

The functions take the export's JSON records (plain dicts) and never import ``mdai``; the
loader in `objectives.data.mdai` applies them before mdai sees the annotations.

- Labels: ``label_ids`` when given; otherwise every label whose name contains "lung" (any
  case) and whose annotation mode has an area (`AREA_MODES`).
- Annotations are checked because mdai's ``load_mask`` draws a 2-point polygon as a line and
  fails on missing geometry: polygons with fewer than 3 points, boxes without a positive size,
  annotations without geometry or not tied to one image (no SOPInstanceUID), and annotations
  in modes without an area are refused with the reason.
- ``mask``-mode annotations are filled here with Pillow: mdai 0.16's ``load_mask`` reads them
  with attribute access on a dict and fails, and ``convert_mask_annotation_to_array`` swaps
  width and height.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from objectives.data.dataset import DataSourceError

__all__ = [
    "AREA_MODES",
    "MDAI_DRAWN_MODES",
    "annotation_problem",
    "choose_labels",
    "describe_annotation",
    "fill_mask_annotation",
]

AREA_MODES = ("freeform", "polygon", "bbox", "mask")  # annotation modes that outline a region
MDAI_DRAWN_MODES = ("freeform", "polygon", "bbox")  # rasterised by mdai.visualize.load_mask


def choose_labels(labels: dict[str, dict[str, Any]], label_ids: tuple[str, ...]) -> list[str]:
    """The label ids whose annotations are lung, in order and without repeats.

    Args:
        labels: the export's labels by id, each the label's JSON record.
        label_ids: the ids asked for; empty means every area label named like "lung".

    Raises:
        DataSourceError: an asked-for id is not in the export, or no label is named like lung;
            the message lists the export's labels.
    """
    listing = ", ".join(f"{lid} ({label.get('name')!r})" for lid, label in labels.items())
    if label_ids:
        unknown = [lid for lid in label_ids if lid not in labels]
        if unknown:
            raise DataSourceError(f"label ids {unknown!r} are not in the export; it has: {listing or 'no labels'}")
        return list(dict.fromkeys(label_ids))
    chosen = [
        lid
        for lid, label in labels.items()
        if "lung" in str(label.get("name", "")).casefold() and label.get("annotationMode") in AREA_MODES
    ]
    if not chosen:
        raise DataSourceError(
            "no label named like 'lung' with an area annotation mode in the export; choose "
            f"labels with --label-id from: {listing or 'no labels'}"
        )
    return chosen


def annotation_problem(annotation: dict[str, Any], mode: Any) -> str | None:
    """Why an annotation cannot be rasterised, or None when it can.

    Args:
        annotation: one annotation's JSON record.
        mode: the ``annotationMode`` of its label.
    """
    if not annotation.get("SOPInstanceUID"):
        return "not tied to one image (no SOPInstanceUID)"
    if mode not in AREA_MODES:
        return f"annotation mode {mode!r} outlines no area"
    data = annotation.get("data")
    if not isinstance(data, dict):
        return f"{mode} annotation has no geometry"
    if mode in ("freeform", "polygon"):
        vertices = data.get("vertices")
        count = len(vertices) if isinstance(vertices, list) else 0
        return None if count >= 3 else f"{mode} with {count} points (needs at least 3)"
    if mode == "bbox":
        return None if _box_ok(data) else "bounding box without a position and positive size"
    foreground = data.get("foreground")
    if not isinstance(foreground, list) or not any(_points_ok(p) for p in foreground):
        return "mask annotation without a foreground polygon of at least 3 points"
    return None


def describe_annotation(annotation: dict[str, Any]) -> str:
    """Names an annotation in a skip report: its id and the image (or study) it is on."""
    where = annotation.get("SOPInstanceUID") or annotation.get("StudyInstanceUID") or "?"
    return f"annotation {annotation.get('id', '?')} on {where}"


def fill_mask_annotation(data: dict[str, Any], shape: tuple[int, int]) -> np.ndarray:
    """A ``mask``-mode annotation's foreground polygons minus its background (hole) polygons.

    Args:
        data: the annotation's ``data``, holding ``foreground`` and ``background`` lists of
            ``[x, y]`` polygons; polygons under 3 points are ignored.
        shape: (height, width) of the image.

    Returns:
        A boolean mask of ``shape``, polygons filled boundary included.
    """
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    for key, value in (("foreground", 1), ("background", 0)):
        for polygon in data.get(key) or []:
            if _points_ok(polygon):
                draw.polygon([(float(x), float(y)) for x, y in polygon], fill=value)
    return np.asarray(canvas, dtype=bool)


def _points_ok(points: Any) -> bool:
    return isinstance(points, list) and len(points) >= 3


def _box_ok(data: dict[str, Any]) -> bool:
    try:
        float(data["x"]), float(data["y"])
        return float(data["width"]) > 0 and float(data["height"]) > 0
    except (KeyError, TypeError, ValueError):
        return False
