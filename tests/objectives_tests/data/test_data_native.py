"""`load_native` hands out the images of `load_dataset` at their own size, index for index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from objectives.data import Dataset, DataSourceError, NativeItem, load_dataset, load_native, parse_source
from objectives.data import folder as folder_module
from objectives.data.preprocess import prepare_image, prepare_mask
from objectives.phantom import render_phantom

SIZES = (16, 24)


def _noisy_chest(height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured 8-bit image with a bright block in its middle half, and the block's mask."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 90, size=(height, width), dtype=np.uint8)
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = 255
    image[mask > 0] += 150
    return image, mask


@pytest.fixture
def shifted_folder(tmp_path: Path, png_file) -> Path:
    """Four usable pairs of different shapes between skipped files, so indices shift.

    Sorted file order: a (usable, 0), b (no mask), c (usable, 1), d (unreadable), e (usable, 2),
    f (mask of another size), g (usable, 3).
    """
    root = tmp_path / "folder"
    shapes = {"a": (24, 16), "b": (20, 20), "c": (20, 30), "e": (12, 12), "f": (18, 14), "g": (17, 23)}
    for seed, (stem, shape) in enumerate(shapes.items()):
        image, mask = _noisy_chest(*shape, seed)
        png_file(root / "images" / f"{stem}.png", image)
        if stem == "f":
            mask = mask[:, :-2]
        if stem != "b":
            png_file(root / "masks" / f"{stem}.png", mask)
    (root / "images" / "d.png").write_bytes(b"not a png")
    png_file(root / "masks" / "d.png", np.zeros((8, 8), dtype=np.uint8))
    return root


def _check_agrees(items: list[NativeItem], dataset: Dataset, indices: list[int]) -> None:
    """Each item is the dataset's image at its index, before letterboxing."""
    assert [item.name for item in items] == [dataset.names[index] for index in indices]
    for item, index in zip(items, indices, strict=True):
        assert item.image.ndim == 2 and item.image.dtype == np.float32
        assert 0.0 <= item.image.min() and item.image.max() <= 1.0
        assert item.mask.dtype == np.uint8 and set(np.unique(item.mask)) <= {0, 1}
        assert item.mask.shape == item.image.shape == dataset.original_sizes[index]
        np.testing.assert_array_equal(prepare_mask(item.mask, dataset.image_size), dataset.masks[index, ..., 0])
        # Normalising before resizing instead of after differs only by float rounding.
        np.testing.assert_allclose(
            prepare_image(item.image, dataset.image_size), dataset.images[index, ..., 0], atol=1e-5
        )


@pytest.mark.parametrize("size", SIZES)
def test_folder_items_match_the_dataset_across_skipped_files(shifted_folder, tmp_path, size):
    source = parse_source(f"folder:{shifted_folder}")
    dataset = load_dataset(source, size, cache_dir=tmp_path / "cache")
    assert dataset.names == ("a.png", "c.png", "e.png", "g.png")
    assert len(dataset.skipped) == 3
    indices = [3, 0, 2, 1, 2]

    items = load_native(source, indices)

    _check_agrees(items, dataset, indices)
    assert items[0].mask.shape == (17, 23)  # g.png, the last usable pair


def test_folder_walk_stops_after_the_largest_index(shifted_folder, monkeypatch):
    opened: list[str] = []
    read_gray = folder_module.read_gray

    def recording_read(path: Path) -> np.ndarray:
        opened.append(path.relative_to(shifted_folder).as_posix())
        return read_gray(path)

    monkeypatch.setattr(folder_module, "read_gray", recording_read)

    items = load_native(parse_source(f"folder:{shifted_folder}"), [1])

    assert [item.name for item in items] == ["c.png"]
    assert opened == ["images/a.png", "masks/a.png", "images/c.png", "masks/c.png"]


@pytest.mark.parametrize("index", [4, -1])
def test_an_index_out_of_range_names_itself_and_the_size(shifted_folder, index):
    source = parse_source(f"folder:{shifted_folder}")
    with pytest.raises(ValueError, match=rf"image index {index} is out of range: folder:.* has 4 images \(0 to 3\)"):
        load_native(source, [0, index])


def test_no_indices_decode_nothing_but_the_source_is_still_checked(shifted_folder, tmp_path, monkeypatch):
    def refuse(path: Path) -> np.ndarray:
        raise AssertionError(f"{path} was decoded")

    monkeypatch.setattr(folder_module, "read_gray", refuse)
    assert load_native(parse_source(f"folder:{shifted_folder}"), []) == []
    with pytest.raises(DataSourceError, match="is not a directory"):
        load_native(parse_source(f"folder:{tmp_path / 'missing'}"), [])


def _landscape_export(export_builder, polygon) -> list[tuple[str, str, str]]:
    """Three DICOM images of different shapes; the middle one has no lung annotation."""
    uids = []
    for index, shape in enumerate([(48, 64), (40, 40), (30, 52)], start=1):
        stored, _ = _noisy_chest(*shape, index)
        uids.append(export_builder.add_image(index, stored.astype(np.uint16) * 16))
        height, width = shape
        if index != 2:
            vertices = polygon(height // 4, width // 4, 3 * height // 4 - 1, 3 * width // 4 - 1)
            export_builder.annotate(uids[-1], export_builder.LUNG, {"vertices": vertices})
    export_builder.write()
    return uids


@pytest.mark.parametrize("size", SIZES)
def test_mdai_export_items_match_the_dataset(export_builder, polygon, tmp_path, size):
    uids = _landscape_export(export_builder, polygon)
    source = parse_source(f"mdai-export:{export_builder.root}")
    dataset = load_dataset(source, size, cache_dir=tmp_path / "cache")
    assert dataset.names == ("/".join(uids[0]), "/".join(uids[2]))  # the middle one is skipped

    items = load_native(source, [1, 0])

    _check_agrees(items, dataset, [1, 0])
    assert items[0].mask.shape == (30, 52) and items[0].mask.any()


def test_mdai_keep_unannotated_keeps_the_indices_of_load_dataset(export_builder, polygon, tmp_path):
    _landscape_export(export_builder, polygon)
    source = parse_source(f"mdai-export:{export_builder.root}")
    dataset = load_dataset(source, 16, keep_unannotated=True, use_cache=False)

    items = load_native(source, [1, 2], keep_unannotated=True)

    _check_agrees(items, dataset, [1, 2])
    assert not items[0].mask.any()  # kept without annotation: an empty mask at its own size


def test_mdai_download_source_reads_the_downloaded_export(monkeypatch, export_builder, polygon, tmp_path):
    _landscape_export(export_builder, polygon)
    monkeypatch.setenv("MDAI_TOKEN", "secret")
    destinations: list[Path] = []

    def fake_download(project_id: str, domain: str, token: str, dest: Path) -> Path:
        destinations.append(dest)
        return export_builder.root

    source = parse_source("mdai:LxR6zdR2")
    cache_dir = tmp_path / "cache"
    dataset = load_dataset(source, 16, cache_dir=cache_dir, download=fake_download)

    items = load_native(source, [0, 1], cache_dir=cache_dir, download=fake_download)

    _check_agrees(items, dataset, [0, 1])
    assert destinations == [cache_dir / "mdai-downloads/public.md.ai/LxR6zdR2"] * 2


@pytest.mark.parametrize("size", SIZES)
def test_phantom_items_are_the_dataset_images_at_its_own_size(size):
    source = parse_source("synthetic:5")
    dataset = load_dataset(source, size)

    items = load_native(source, [4, 1], image_size=size)

    _check_agrees(items, dataset, [4, 1])
    np.testing.assert_array_equal(items[0].image, dataset.images[4, ..., 0])
    np.testing.assert_array_equal(items[0].image, render_phantom(0, 4, size)[0])


def test_phantom_needs_its_image_size_and_a_valid_index():
    source = parse_source("synthetic:5")
    with pytest.raises(ValueError, match="pass image_size"):
        load_native(source, [0])
    with pytest.raises(ValueError, match="but got 2"):
        load_native(source, [0], image_size=2)
    with pytest.raises(ValueError, match=r"image index 5 is out of range: synthetic:5 has 5 images \(0 to 4\)"):
        load_native(source, [5], image_size=16)
    with pytest.raises(ValueError, match="whole numbers, but got 1.5"):
        load_native(source, [1.5], image_size=16)
