from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset as DicomDataset
from pydicom.dataset import FileMetaDataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian

from objectives.data.preprocess import (
    binarize_mask,
    dicom_to_float,
    letterbox,
    normalize,
    prepare_image,
    prepare_mask,
    restore_mask,
    to_float,
)


def _portrait_square() -> np.ndarray:
    # 16 rows x 8 columns, lung block on rows 4..11 and columns 2..5.
    mask = np.zeros((16, 8), dtype=np.uint8)
    mask[4:12, 2:6] = 1
    return mask


@pytest.mark.parametrize(
    ("original", "size", "content", "offset"),
    [
        ((4, 8), 8, (4, 8), (2, 0)),  # landscape: 2 rows of padding above and below
        ((8, 4), 8, (8, 4), (0, 2)),  # portrait: 2 columns either side
        ((5, 8), 8, (5, 8), (1, 0)),  # odd padding: 1 above, the extra one below
        ((16, 8), 8, (8, 4), (0, 2)),  # halved, then padded like (8, 4)
        ((300, 100), 8, (8, 3), (0, 2)),  # 8 / 300 * 100 = 2.67 -> 3 columns, 5 to pad: 2 + 3
    ],
)
def test_letterbox_keeps_aspect_and_pads_symmetrically(original, size, content, offset):
    box = letterbox(original, size)
    assert box.content == content
    assert box.offset == offset
    below = size - content[0] - offset[0]
    right = size - content[1] - offset[1]
    assert below - offset[0] in (0, 1) and right - offset[1] in (0, 1)


def test_letterbox_rejects_empty_images():
    with pytest.raises(ValueError, match=r"but got \(0, 5\)"):
        letterbox((0, 5), 8)


def test_prepare_mask_halves_and_centres_a_block():
    # The 16x8 mask halves to 8x4 and sits in columns 2..5 of the 8x8 square, so the block
    # (rows 4..11, columns 2..5) lands on rows 2..5 and columns 1..2 + 2 = 3..4.
    expected = np.zeros((8, 8), dtype=np.uint8)
    expected[2:6, 3:5] = 1
    result = prepare_mask(_portrait_square(), 8)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, expected)


def test_image_and_mask_stay_aligned():
    mask = _portrait_square()
    image = mask.astype(np.float32) * 900.0 + 100.0  # bright block on a dim background
    square_image = prepare_image(image, 8)
    square_mask = prepare_mask(mask, 8)
    assert square_image.dtype == np.float32
    assert square_image.min() == 0.0 and square_image.max() == 1.0
    assert square_image[square_mask == 1].min() > 0.8
    assert square_image[square_mask == 0].max() < 0.2
    # The padding columns (0, 1, 6, 7) are black.
    assert not square_image[:, [0, 1, 6, 7]].any()


def test_prepare_mask_stays_binary_when_upscaled():
    mask = np.zeros((3, 5), dtype=np.uint8)
    mask[1, 1:4] = 255
    result = prepare_mask(mask, 17)
    assert set(np.unique(result)) == {0, 1}


def test_restore_mask_inverts_the_letterbox():
    mask = _portrait_square()
    np.testing.assert_array_equal(restore_mask(prepare_mask(mask, 8), (16, 8)), mask)


def test_restore_mask_thresholds_probabilities():
    probabilities = np.zeros((4, 4, 1), dtype=np.float32)
    probabilities[:, 1:3] = 0.7  # the whole 4x2 content of a (4, 2) original, above 0.5
    np.testing.assert_array_equal(restore_mask(probabilities, (4, 2)), np.ones((4, 2)))
    np.testing.assert_array_equal(restore_mask(probabilities, (4, 2), 0.8), np.zeros((4, 2)))


def test_restore_mask_rejects_non_square_input():
    with pytest.raises(ValueError, match=r"but got \(4, 3\)"):
        restore_mask(np.zeros((4, 3)), (4, 3))


def test_to_float_mirrors_monochrome1_within_its_range():
    values = np.array([[-1, 1], [3, 5]], dtype=np.float64)
    kept = to_float(values)
    np.testing.assert_array_equal(kept, values)
    # MONOCHROME1 mirrors within the range: max + min - v = 4 - v
    mirrored = to_float(values, monochrome1=True)
    np.testing.assert_array_equal(mirrored, [[5, 3], [1, -1]])
    assert kept.dtype == mirrored.dtype == np.float32


def test_to_float_rejects_colour_arrays():
    with pytest.raises(ValueError, match=r"but got shape \(2, 2, 3\)"):
        to_float(np.zeros((2, 2, 3)))


def _dicom(stored: np.ndarray, bits_stored: int, **attributes: object) -> DicomDataset:
    ds = DicomDataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if stored.dtype.kind == "i" else 0
    for name, value in attributes.items():
        setattr(ds, name, value)
    ds.PixelData = stored.tobytes()
    return ds


def test_dicom_to_float_ignores_bits_above_bits_stored():
    # 12 bits stored: 0xF001 keeps only 0x001 = 1, 0x8FFF keeps 0xFFF = 4095.
    stored = np.array([[0, 0xF001], [0x8FFF, 2]], dtype=np.uint16)
    np.testing.assert_array_equal(dicom_to_float(_dicom(stored, 12)), [[0, 1], [4095, 2]])


def test_dicom_to_float_reads_signed_rescaled_monochrome1():
    stored = np.array([[-2, 0], [2, 4]], dtype=np.int16)
    ds = _dicom(
        stored,
        16,
        RescaleSlope="0.5",
        RescaleIntercept="100",
        PhotometricInterpretation="MONOCHROME1",
    )
    # 0.5 * [-2, 0, 2, 4] + 100 = [99, 100, 101, 102]; mirrored: 201 - v = [102, 101, 100, 99]
    np.testing.assert_array_equal(dicom_to_float(ds), [[102, 101], [100, 99]])


def test_dicom_to_float_applies_slope_and_intercept():
    stored = np.array([[0, 1], [2, 3]], dtype=np.uint16)
    ds = _dicom(stored, 16, RescaleSlope="2", RescaleIntercept="-1")
    # 2 * [0, 1, 2, 3] - 1 = [-1, 1, 3, 5]
    np.testing.assert_array_equal(dicom_to_float(ds), [[-1, 1], [3, 5]])


def test_dicom_to_float_prefers_the_modality_lut_sequence_to_rescale():
    stored = np.array([[0, 1], [2, 5]], dtype=np.uint16)
    item = DicomDataset()
    # 4 entries mapping stored values 1..4; values below the first are mapped to the first
    # entry and values past the last to the last.
    item.add_new(Tag(0x0028, 0x3002), "US", [4, 1, 16])  # LUTDescriptor
    item.add_new(Tag(0x0028, 0x3006), "US", [10, 20, 30, 40])  # LUTData
    item.ModalityLUTType = "OD"
    ds = _dicom(stored, 16, RescaleSlope="2", RescaleIntercept="-1", ModalityLUTSequence=[item])
    # 0 -> first entry 10, 1 -> 10, 2 -> 20, 5 -> past the end: last entry 40.
    np.testing.assert_array_equal(dicom_to_float(ds), [[10, 10], [20, 40]])


def test_normalize_scales_to_unit_range_and_handles_constant_images():
    np.testing.assert_allclose(normalize(np.array([[2.0, 4.0], [6.0, 10.0]])), [[0, 0.25], [0.5, 1]])
    assert not normalize(np.full((2, 2), 7.0)).any()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([[0, 255]], dtype=np.uint8), [[0, 1]]),
        (np.array([[0, 1]], dtype=np.uint8), [[0, 1]]),
        (np.array([[100, 200]], dtype=np.uint8), [[0, 1]]),  # anti-aliased edge: cut at 128
        (np.array([[0, 40000]], dtype=np.uint16), [[0, 1]]),
    ],
)
def test_binarize_mask(values, expected):
    np.testing.assert_array_equal(binarize_mask(values), expected)
