"""Choosing lung labels and checking and filling MD.ai annotations, on plain JSON records."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from objectives.data import DataSourceError
from objectives.data.mdai_annotations import (
    annotation_problem,
    choose_labels,
    describe_annotation,
    fill_mask_annotation,
)

_LABELS: dict[str, dict[str, Any]] = {
    "L_lung": {"name": "Lung", "annotationMode": "freeform"},
    "L_right": {"name": "right LUNG", "annotationMode": "mask"},
    "L_finding": {"name": "Lung finding", "annotationMode": None},  # global: no area
    "L_nodule": {"name": "Nodule", "annotationMode": "polygon"},
}
_SQUARE = [[1, 1], [4, 1], [4, 4], [1, 4]]  # x, y corners of rows and columns 1..4


def test_default_labels_are_area_labels_named_like_lung():
    assert choose_labels(_LABELS, ()) == ["L_lung", "L_right"]


def test_label_ids_are_kept_in_order_without_repeats():
    assert choose_labels(_LABELS, ("L_nodule", "L_lung", "L_nodule")) == ["L_nodule", "L_lung"]


def test_unknown_label_ids_are_named_with_the_export_labels():
    with pytest.raises(DataSourceError, match=r"\['L_nope'\] are not in the export; it has: L_lung \('Lung'\)"):
        choose_labels(_LABELS, ("L_lung", "L_nope"))


def test_no_lung_label_asks_for_label_ids():
    with pytest.raises(DataSourceError, match=r"--label-id from: L_nodule \('Nodule'\)"):
        choose_labels({"L_nodule": _LABELS["L_nodule"]}, ())
    with pytest.raises(DataSourceError, match="from: no labels"):
        choose_labels({}, ())


def _on_image(**fields: object) -> dict[str, object]:
    return {"id": "A_1", "SOPInstanceUID": "1.2.3", **fields}


@pytest.mark.parametrize(
    ("annotation", "mode", "problem"),
    [
        (_on_image(data={"vertices": _SQUARE}), "freeform", None),
        (_on_image(data={"vertices": _SQUARE[:3]}), "polygon", None),
        (_on_image(data={"x": 0, "y": "2", "width": 3, "height": 1.5}), "bbox", None),
        (_on_image(data={"foreground": [[[0, 0]], _SQUARE]}), "mask", None),
        ({"id": "A_1", "data": {"vertices": _SQUARE}}, "freeform", "no SOPInstanceUID"),
        (_on_image(data={"vertices": _SQUARE}), None, "mode None outlines no area"),
        (_on_image(data={"point": [1, 1]}), "point", "mode 'point' outlines no area"),
        (_on_image(data=None), "polygon", "polygon annotation has no geometry"),
        (_on_image(data={"vertices": _SQUARE[:2]}), "polygon", "polygon with 2 points (needs at least 3)"),
        (_on_image(data={"vertices": None}), "freeform", "freeform with 0 points"),
        (_on_image(data={"x": 0, "y": 0, "width": 0, "height": 2}), "bbox", "bounding box without"),
        (_on_image(data={"x": 0, "width": 2, "height": 2}), "bbox", "bounding box without"),
        (_on_image(data={"x": "left", "y": 0, "width": 2, "height": 2}), "bbox", "bounding box without"),
        (_on_image(data={"foreground": [[[0, 0], [1, 1]]]}), "mask", "without a foreground polygon"),
        (_on_image(data={"background": [_SQUARE]}), "mask", "without a foreground polygon"),
    ],
)
def test_annotation_problem(annotation, mode, problem):
    found = annotation_problem(annotation, mode)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_describe_names_the_annotation_and_its_image_or_study():
    assert describe_annotation(_on_image()) == "annotation A_1 on 1.2.3"
    assert describe_annotation({"id": "A_2", "StudyInstanceUID": "9.8"}) == "annotation A_2 on 9.8"
    assert describe_annotation({}) == "annotation ? on ?"


def test_fill_mask_annotation_cuts_background_holes_and_ignores_short_polygons():
    hole = [[2, 2], [3, 2], [3, 3], [2, 3]]
    data = {"foreground": [_SQUARE, [[0, 0], [5, 5]]], "background": [hole]}
    mask = fill_mask_annotation(data, (6, 7))
    # Boundaries included: the 4x4 square on rows and columns 1..4 minus the 2x2 hole on 2..3.
    expected = np.zeros((6, 7), dtype=bool)
    expected[1:5, 1:5] = True
    expected[2:4, 2:4] = False
    np.testing.assert_array_equal(mask, expected)
    assert mask.sum() == 16 - 4
