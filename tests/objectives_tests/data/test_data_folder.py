from __future__ import annotations

import numpy as np
import pytest

from objectives.data import DataSourceError
from objectives.data.folder import find_layout, load_folder

BOX = (6, 4, 18, 12)  # top, left, bottom, right of the bright block in a 24 x 16 image


def test_masks_layout_loads_pairs_and_reports_the_rest(tmp_path, png_file, chest_pair):
    image, mask = chest_pair(24, 16, BOX)
    png_file(tmp_path / "images" / "a.png", image)
    png_file(tmp_path / "masks" / "a.png", mask)
    png_file(tmp_path / "images" / "b.jpg", image)  # JPEG image, PNG mask named "<stem>_mask"
    png_file(tmp_path / "masks" / "b_mask.png", mask // 255)  # a {0, 1} mask
    png_file(tmp_path / "images" / "c.png", image)  # no mask
    png_file(tmp_path / "images" / "d.png", image)
    png_file(tmp_path / "masks" / "d.png", mask[:, :12])  # wrong size
    (tmp_path / "images" / "e.png").write_bytes(b"not a png")
    png_file(tmp_path / "masks" / "e.png", mask)

    dataset = load_folder(tmp_path, 16)

    assert dataset.names == ("a.png", "b.jpg")
    assert dataset.original_sizes == ((24, 16), (24, 16))
    # 24x16 -> 16x11 (16 / 24 * 16 = 10.7), 2 columns of padding left and 3 right.
    assert not dataset.images[:, :, :2].any() and not dataset.images[:, :, -3:].any()
    for square_image, square_mask in zip(dataset.images, dataset.masks, strict=True):
        assert square_image[square_mask == 1].min() > 0.7
        assert square_image[square_mask == 0].max() < 0.3
    reasons = {entry.item: entry.reason for entry in dataset.skipped}
    assert reasons["images/c.png"] == "no mask in masks/"
    assert reasons["images/d.png"] == ("mask masks/d.png is 12x24 (width x height) but image images/d.png is 16x24")
    assert reasons["images/e.png"].startswith("unreadable image")


def test_montgomery_layout_combines_left_and_right_lungs(tmp_path, png_file):
    image = np.full((20, 20), 30, dtype=np.uint8)
    image[4:16, 2:8] = image[4:16, 12:18] = 200
    right = np.zeros((20, 20), dtype=np.uint8)
    left = np.zeros((20, 20), dtype=np.uint8)
    right[4:16, 2:8] = 255
    left[4:16, 12:18] = 255
    png_file(tmp_path / "CXR_png" / "MCUCXR_0001_0.png", image)
    png_file(tmp_path / "ManualMask" / "leftMask" / "MCUCXR_0001_0.png", left)
    png_file(tmp_path / "ManualMask" / "rightMask" / "MCUCXR_0001_0.png", right)
    png_file(tmp_path / "CXR_png" / "MCUCXR_0002_1.png", image)
    png_file(tmp_path / "ManualMask" / "leftMask" / "MCUCXR_0002_1.png", left)

    dataset = load_folder(tmp_path, 20)

    assert dataset.names == ("MCUCXR_0001_0.png",)
    np.testing.assert_array_equal(dataset.masks[0, ..., 0], (left | right) // 255)
    assert dataset.skipped[0].item == "CXR_png/MCUCXR_0002_1.png"
    assert dataset.skipped[0].reason == "no mask in ManualMask/rightMask/"


def test_sixteen_bit_and_colour_images_load_as_gray(tmp_path, png_file, chest_pair):
    image, mask = chest_pair(8, 8, (2, 2, 6, 6))
    png_file(tmp_path / "images" / "deep.png", image.astype(np.uint16) * 200)
    png_file(tmp_path / "images" / "rgb.png", np.repeat(image[..., None], 3, axis=-1))
    for name in ("deep.png", "rgb.png"):
        png_file(tmp_path / "masks" / name, mask)
    dataset = load_folder(tmp_path, 8)
    assert dataset.names == ("deep.png", "rgb.png")
    np.testing.assert_allclose(dataset.images[0], dataset.images[1], atol=1e-6)


def test_layout_errors_name_what_is_expected(tmp_path, png_file, chest_pair):
    with pytest.raises(DataSourceError, match="is not a directory"):
        find_layout(tmp_path / "missing")
    with pytest.raises(DataSourceError, match="expected one of images, CXR_png"):
        find_layout(tmp_path)
    (tmp_path / "images").mkdir()
    with pytest.raises(DataSourceError, match="leftMask/ and rightMask/"):
        find_layout(tmp_path)
    (tmp_path / "masks").mkdir()
    with pytest.raises(DataSourceError, match="no images"):
        load_folder(tmp_path, 8)
    image, _ = chest_pair(8, 8, (2, 2, 6, 6))
    png_file(tmp_path / "images" / "lonely.png", image)
    with pytest.raises(DataSourceError, match="all 1 images were skipped.*lonely.png: no mask"):
        load_folder(tmp_path, 8)
