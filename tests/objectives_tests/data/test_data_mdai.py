"""The MD.ai export loader, run with the real mdai library on exports written here."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from objectives.data import DataSourceError
from objectives.data import mdai as mdai_source
from objectives.data.mdai import find_export, load_export

SIZE = 64
# Every test image is 48 rows x 64 columns with a bright block on rows TOP..BOTTOM - 1 and
# columns LEFT..RIGHT - 1; at SIZE 64 it keeps its scale and gets 8 rows of padding above and
# below. Polygons are filled boundary included, so the block's outline runs through the centres
# of its last row and column.
TOP, LEFT, BOTTOM, RIGHT = 10, 8, 30, 40


def _landscape(background: int, block: int, dtype: type) -> np.ndarray:
    stored = np.full((48, 64), background, dtype=dtype)
    stored[TOP:BOTTOM, LEFT:RIGHT] = block
    return stored


def _name(uids: tuple[str, str, str]) -> str:
    """The dataset name of an image: its path under the images folder, without ``.dcm``."""
    return "/".join(uids)


def _check_block_is_lung(image: np.ndarray, mask: np.ndarray) -> None:
    """The mask covers the block and the block is the bright part of the image."""
    assert set(np.unique(mask)) == {0, 1}
    rows, cols = np.nonzero(mask[..., 0])
    assert abs(rows.min() - (TOP + 8)) <= 1 and abs(rows.max() - (BOTTOM + 8 - 1)) <= 1
    assert abs(cols.min() - LEFT) <= 1 and abs(cols.max() - (RIGHT - 1)) <= 1
    assert image[mask == 1].mean() > 0.9
    assert image[mask == 0].mean() < 0.1


def test_loads_bit_depths_monochrome1_rescale_and_all_area_modes(export_builder, polygon):
    # 12 bits stored in 16: high garbage bits would swamp the block if they were kept.
    twelve_bit = _landscape(100, 4000, np.uint16)
    twelve_bit[0, :4] |= 0xF000
    a = export_builder.add_image(1, twelve_bit, bits_stored=12)
    export_builder.annotate(a, export_builder.LUNG, {"vertices": polygon(TOP, LEFT, BOTTOM - 1, RIGHT - 1)})
    # 8-bit MONOCHROME1: the block is stored dark and must come out bright.
    b = export_builder.add_image(2, _landscape(200, 10, np.uint8), monochrome1=True)
    box = {"x": LEFT, "y": TOP, "width": RIGHT - LEFT - 1, "height": BOTTOM - TOP - 1}
    export_builder.annotate(b, export_builder.LUNG_BOX, box)
    # Signed, rescaled (CT-like), with a mask-mode annotation that has a hole, filled later
    # by a second freeform annotation: all of an image's lung annotations are merged.
    c = export_builder.add_image(3, _landscape(-1000, 800, np.int16), slope=2.0, intercept=-1024)
    mask_data = {
        "foreground": [polygon(TOP, LEFT, BOTTOM - 1, RIGHT - 1)],
        "background": [polygon(TOP + 4, LEFT + 4, TOP + 8, LEFT + 8)],
    }
    export_builder.annotate(c, export_builder.LUNG_MASK, mask_data)
    export_builder.annotate(c, export_builder.LUNG, {"vertices": polygon(TOP, LEFT, 20, 20)})
    export_builder.write()

    dataset = load_export(find_export(export_builder.root), SIZE)

    assert dataset.names == (_name(a), _name(b), _name(c))  # sorted by path
    assert dataset.original_sizes == ((48, 64),) * 3
    assert dataset.images.shape == (3, SIZE, SIZE, 1) and dataset.images.dtype == np.float32
    assert dataset.masks.dtype == np.uint8
    assert dataset.skipped == ()
    for image, mask in zip(dataset.images, dataset.masks, strict=True):
        _check_block_is_lung(image, mask)


def test_mask_mode_background_polygons_are_holes(export_builder, polygon):
    uids = export_builder.add_image(1, _landscape(0, 255, np.uint8))
    mask_data = {
        "foreground": [polygon(TOP, LEFT, BOTTOM - 1, RIGHT - 1)],
        "background": [polygon(TOP + 4, LEFT + 4, TOP + 8, LEFT + 8)],
    }
    export_builder.annotate(uids, export_builder.LUNG_MASK, mask_data)
    export_builder.write()
    mask = load_export(find_export(export_builder.root), SIZE).masks[0, ..., 0]
    # 8 rows of padding above: the hole's rows TOP + 4 .. TOP + 8 are rows 22..26.
    assert not mask[22:27, LEFT + 4 : LEFT + 9].any()
    assert mask[TOP + 8 : BOTTOM + 8, LEFT:RIGHT].sum() == 20 * 32 - 5 * 5


def test_portrait_images_are_padded_left_and_right(export_builder, polygon):
    stored = np.full((64, 48), 50, dtype=np.uint8)
    stored[20:40, 10:30] = 250
    uids = export_builder.add_image(1, stored)
    export_builder.annotate(uids, export_builder.LUNG, {"vertices": polygon(20, 10, 39, 29)})
    export_builder.write()
    dataset = load_export(find_export(export_builder.root), 32)
    # 64x48 -> 32x24 with 4 columns of padding each side: the block (rows 20..39, columns
    # 10..29) halves to rows 10..19 and columns 5..14, shifted to 9..18.
    rows, cols = np.nonzero(dataset.masks[0, ..., 0])
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 19, 9, 18)
    assert not dataset.images[0, :, :4].any() and not dataset.images[0, :, -4:].any()


def _faulty_export(builder, polygon):
    """One good image and one of each fault the loader must survive."""
    vertices = {"vertices": polygon(TOP, LEFT, BOTTOM - 1, RIGHT - 1)}
    good = builder.add_image(1, _landscape(0, 255, np.uint8))
    builder.annotate(good, builder.LUNG, vertices)
    builder.annotate(good, "L_deleted_label", vertices)  # unknown label id
    truncated = builder.add_image(2, _landscape(0, 255, np.uint8))
    builder.annotate(truncated, builder.LUNG, vertices)
    path = builder.image_path(truncated)
    path.write_bytes(path.read_bytes()[:-1500])  # cut into the pixel data
    nodule_only = builder.add_image(3, _landscape(0, 255, np.uint8))
    builder.annotate(nodule_only, builder.NODULE, vertices)  # not a lung label
    two_points = builder.add_image(4, _landscape(0, 255, np.uint8))
    builder.annotate(two_points, builder.LUNG, {"vertices": [[1, 1], [20, 20]]})
    builder.write()
    return good, truncated, nodule_only, two_points


def _reasons(dataset) -> dict[str, str]:
    return {entry.item: entry.reason for entry in dataset.skipped}


def test_faults_are_skipped_and_reported(export_builder, polygon):
    good, truncated, nodule_only, two_points = _faulty_export(export_builder, polygon)
    dataset = load_export(find_export(export_builder.root), SIZE)

    assert dataset.names == (_name(good),)
    _check_block_is_lung(dataset.images[0], dataset.masks[0])
    reasons = _reasons(dataset)
    assert "unreadable DICOM" in reasons[_name(truncated)]
    assert "no lung annotation" in reasons[_name(nodule_only)]
    assert "no lung annotation" in reasons[_name(two_points)]
    assert "'L_deleted_label' is not defined" in reasons[f"annotation A_001 on {good[2]}"]
    assert "freeform with 2 points (needs at least 3)" in reasons[f"annotation A_004 on {two_points[2]}"]


def test_keep_unannotated_keeps_images_with_empty_masks(export_builder, polygon):
    good, truncated, nodule_only, two_points = _faulty_export(export_builder, polygon)
    dataset = load_export(find_export(export_builder.root), SIZE, keep_unannotated=True)
    assert set(dataset.names) == {_name(good), _name(nodule_only), _name(two_points)}
    for name, mask in zip(dataset.names, dataset.masks, strict=True):
        assert mask.any() == (name == _name(good))
    assert _name(truncated) in _reasons(dataset)


def test_label_ids_choose_the_annotations(export_builder, polygon):
    good, _, nodule_only, _ = _faulty_export(export_builder, polygon)
    dataset = load_export(find_export(export_builder.root), SIZE, label_ids=(export_builder.NODULE,))
    assert dataset.names == (_name(nodule_only),)


def test_unknown_label_id_is_an_error_listing_the_labels(export_builder, polygon):
    _faulty_export(export_builder, polygon)
    with pytest.raises(DataSourceError, match=r"\['L_nope'\].*L_lung \('Lung'\)"):
        load_export(find_export(export_builder.root), SIZE, label_ids=("L_nope",))


def test_export_without_usable_image_says_why(export_builder, polygon):
    uids = export_builder.add_image(1, _landscape(0, 255, np.uint8))
    export_builder.annotate(uids, export_builder.LUNG, {"vertices": [[0, 0], [5, 5]]})
    export_builder.write()
    with pytest.raises(DataSourceError, match=r"no usable image.*1 DICOM files.*1 without"):
        load_export(find_export(export_builder.root), SIZE)


def test_token_comes_from_the_environment_only():
    assert mdai_source.token_from_env({"MDAI_TOKEN": " abc "}) == "abc"
    with pytest.raises(DataSourceError, match="export MDAI_TOKEN="):
        mdai_source.token_from_env({})


def test_download_errors_never_show_the_token(monkeypatch, tmp_path):
    mdai_source._import_mdai()
    token = "s3cret-token-value"

    class RefusingClient:
        def __init__(self, domain: str, access_token: str) -> None:
            raise RuntimeError(f"Authorization error for header x-access-token={access_token}")

    monkeypatch.setattr(sys.modules["mdai"], "Client", RefusingClient)
    with pytest.raises(DataSourceError) as caught:
        mdai_source.download_project("abc123", "public.md.ai", token, tmp_path / "dl")
    assert token not in str(caught.value) and "***" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
