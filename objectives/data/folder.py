"""The ``folder:PATH`` source: image files with lung masks of the same file names.

Two layouts are recognised, tried in this order:

- one mask per image: ``PATH/images/`` (or ``PATH/CXR_png/``) and ``PATH/masks/``;
- the Montgomery set's separate lungs: the same image folders and ``PATH/leftMask/`` plus
  ``PATH/rightMask/`` (or both under ``PATH/ManualMask/``), combined by OR.

Images are ``.png``, ``.jpg`` or ``.jpeg``. A mask matches an image when it has the same stem
(``x.png`` for ``x.jpg`` is fine) or the stem plus ``_mask``, as some Kaggle copies name them.
Mask values are binarised at half scale (``binarize_mask``), so {0, 255}, {0, 1} and
anti-aliased masks all work.

A bad pair is skipped and reported as a `Skipped` with the file names, not raised: one
mislabelled file should not stop a study on hundreds of good ones, and ``hpo data inspect``
lists every skip. This covers images without a mask, unreadable files, and masks whose size
differs from their image (the reason names both files and both sizes). Only a folder with no
usable pair at all raises `DataSourceError`.

`native_pairs` states these rules once; `load_folder` letterboxes its pairs and
`objectives.data.native.load_native` keeps the ones asked for at their own size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from objectives.data.cache import file_fingerprint
from objectives.data.dataset import Dataset, DataSourceError, Skipped
from objectives.data.pairs import NativePair, Walk, prepare_pairs
from objectives.data.preprocess import binarize_mask
from objectives.data.readers import read_gray

__all__ = ["IMAGE_SUFFIXES", "FolderLayout", "find_layout", "folder_fingerprint", "load_folder", "native_pairs"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_IMAGE_DIRS = ("images", "CXR_png")
_MASK_DIRS = ("masks",)
_LUNG_DIR_PAIRS = (("leftMask", "rightMask"), ("ManualMask/leftMask", "ManualMask/rightMask"))


@dataclass(frozen=True)
class FolderLayout:
    """Where a folder source keeps its images and masks."""

    root: Path
    images_dir: Path
    mask_dirs: tuple[Path, ...]  # one folder of whole masks, or the left and right lung folders

    def image_files(self) -> list[Path]:
        return _image_files(self.images_dir)

    def all_files(self) -> list[Path]:
        """Every file whose change must invalidate a cached copy of this source."""
        files = self.image_files()
        for folder in self.mask_dirs:
            files.extend(_image_files(folder))
        return files


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    )


def find_layout(root: Path) -> FolderLayout:
    """Finds the image and mask folders of ``root`` (see the module docstring).

    Args:
        root: the folder named by ``folder:PATH``.
    """
    if not root.is_dir():
        raise DataSourceError(f"folder source {str(root)!r} is not a directory")
    images_dir = next((root / name for name in _IMAGE_DIRS if (root / name).is_dir()), None)
    if images_dir is None:
        raise DataSourceError(f"no image folder in {str(root)!r}: expected one of {', '.join(_IMAGE_DIRS)}/")
    for name in _MASK_DIRS:
        if (root / name).is_dir():
            return FolderLayout(root, images_dir, (root / name,))
    for left, right in _LUNG_DIR_PAIRS:
        if (root / left).is_dir() and (root / right).is_dir():
            return FolderLayout(root, images_dir, (root / left, root / right))
    raise DataSourceError(
        f"no mask folder in {str(root)!r}: expected masks/ (same file names as the images) or "
        "leftMask/ and rightMask/ (optionally under ManualMask/)"
    )


def folder_fingerprint(layout: FolderLayout) -> str:
    """Changes whenever an image or mask file of the layout is added, removed or rewritten."""
    return file_fingerprint(layout.root, layout.all_files())


def _mask_index(folder: Path) -> dict[str, Path]:
    """Maps image stems to mask files; an exact stem wins over a ``_mask`` suffixed one."""
    index: dict[str, Path] = {}
    for path in _image_files(folder):
        if path.stem.endswith("_mask"):
            index.setdefault(path.stem.removesuffix("_mask"), path)
    for path in _image_files(folder):
        index[path.stem] = path
    return index


def _read_pair(image_path: Path, mask_paths: list[Path], root: Path) -> NativePair | Skipped:
    """The image and its combined mask, or the reason the pair cannot be used."""
    item = image_path.relative_to(root).as_posix()
    try:
        image = read_gray(image_path)
    except Exception as error:  # Pillow raises many types for damaged files
        return Skipped(item, f"unreadable image: {error}")
    if image.ndim != 2:
        return Skipped(item, f"expected a grayscale image, but got shape {image.shape!r}")
    combined = np.zeros(image.shape, dtype=np.uint8)
    for mask_path in mask_paths:
        mask_item = mask_path.relative_to(root).as_posix()
        try:
            mask = read_gray(mask_path)
        except Exception as error:
            return Skipped(item, f"unreadable mask {mask_item}: {error}")
        if mask.shape != image.shape:
            return Skipped(
                item,
                f"mask {mask_item} is {mask.shape[1]}x{mask.shape[0]} (width x height) but image "
                f"{item} is {image.shape[1]}x{image.shape[0]}",
            )
        combined |= binarize_mask(mask)
    return NativePair(image_path.name, image, combined)


def native_pairs(root: Path) -> Walk:
    """Walks a folder source: each image's pair at its own size, or why it was skipped.

    Items come in sorted image file order, so the n-th pair is image n of `load_folder`; see
    `objectives.data.pairs`. Decoding is lazy: stopping the walk early reads no further files.

    Args:
        root: the folder named by ``folder:PATH``.

    Raises:
        DataSourceError: the folder has no layout, no images, or (after the last item) no
            usable pair.
    """
    layout = find_layout(root)
    indexes = [_mask_index(folder) for folder in layout.mask_dirs]
    image_files = layout.image_files()
    if not image_files:
        raise DataSourceError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {str(layout.images_dir)!r}")
    first_skip: Skipped | None = None
    usable = 0
    for image_path in image_files:
        outcome = _pair_of(image_path, indexes, layout)
        if isinstance(outcome, Skipped):
            first_skip = first_skip or outcome
        else:
            usable += 1
        yield outcome
    if not usable:
        assert first_skip is not None
        raise DataSourceError(
            f"no usable image in {str(root)!r}: all {len(image_files)} images were skipped, "
            f"e.g. {first_skip.item}: {first_skip.reason}"
        )


def _pair_of(image_path: Path, indexes: list[dict[str, Path]], layout: FolderLayout) -> NativePair | Skipped:
    """One image's pair with its masks found by name and combined, or why it cannot be used."""
    root = layout.root
    found = [index.get(image_path.stem) for index in indexes]
    missing = [folder for folder, path in zip(layout.mask_dirs, found, strict=True) if not path]
    if missing:
        folders = " and ".join(f"{folder.relative_to(root).as_posix()}/" for folder in missing)
        return Skipped(image_path.relative_to(root).as_posix(), f"no mask in {folders}")
    return _read_pair(image_path, [path for path in found if path], root)


def load_folder(root: Path, image_size: int) -> Dataset:
    """Loads every usable image/mask pair of a folder source at ``image_size`` pixels square.

    Args:
        root: the folder named by ``folder:PATH``.
        image_size: side of the square images and masks.
    """
    return prepare_pairs(native_pairs(root), image_size)
