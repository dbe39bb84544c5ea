"""Images and masks at their own resolution, for scores that undo the letterbox (`load_native`).

A study trains and predicts on letterboxed squares, but a published DICE is measured on each
image's own pixels: a prediction is mapped back with `restore_mask` and compared with the mask
as the source drew it. `load_native` returns those masks, and the images normalised as training
sees them before resizing, for chosen indices of `load_dataset`'s dataset.

Same images, same indices: file sources are walked through the one generator per source that
`load_dataset` letterboxes (`objectives.data.pairs`), so names, order and skips agree, and
``prepare_mask(item.mask, s)`` is the dataset's mask at size ``s``. Skipped inputs shift the
indices of everything after them, and whether an image is skipped can depend on decoding it
(an unreadable file, a mask of another size), so the walk decodes every input up to the
largest index asked for and stops there; files after it are never opened. An out-of-range
index walks to the end, to name the dataset's size.

The phantom has no files. Its anatomy does not depend on the drawing size, but its picture does:
texture and noise are drawn for the image's pixels and shift every later random draw, so a 256
pixel phantom resized to 64 is not the 64 pixel image a model trained on. The phantom's native
size is therefore the dataset's own size (``image_size``), as its ``original_sizes`` say, and
an item is that very image, drawn alone.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from objectives.data import mdai as mdai_source
from objectives.data.dataset import Skipped
from objectives.data.pairs import NativePair, Walk
from objectives.data.preprocess import normalize
from objectives.data.sources import DataSource, check_image_size, open_file_source, phantom_name
from objectives.phantom import render_phantom

__all__ = ["NativeItem", "load_native"]


@dataclass(frozen=True)
class NativeItem:
    """One image of a dataset and its ground truth at the image's own (height, width)."""

    name: str  # the dataset's name for the image
    image: np.ndarray  # 2-D float32 in [0, 1]: the decoded image, min-max normalised
    mask: np.ndarray  # 2-D uint8 in {0, 1}, the image's shape


def load_native(
    source: DataSource,
    indices: Sequence[int],
    *,
    image_size: int | None = None,
    keep_unannotated: bool | None = None,
    cache_dir: Path | None = None,
    mdai_domain: str | None = None,
    download: mdai_source.Downloader | None = None,
) -> list[NativeItem]:
    """Images ``indices`` of ``load_dataset(source, ...)`` at their native resolution, in order.

    Item ``k`` is image ``indices[k]``: same name, and a mask of shape
    ``dataset.original_sizes[indices[k]]``. The dataset cache is not read: only the files
    needed are decoded (see the module docstring).

    Args:
        source: from `parse_source`.
        indices: positions in the dataset; repeats are allowed.
        image_size: the size the dataset is loaded at; only the phantom needs it, as its native
            size (see the module docstring).
        keep_unannotated: MD.ai sources, as for `load_dataset`; None takes the source's.
        cache_dir: cache folder holding ``mdai:`` downloads; None means `default_cache_dir`.
        mdai_domain: MD.ai host for ``mdai:`` sources; None takes the source's.
        download: replaces `download_project` (tests use a local export).

    Raises:
        ValueError: an index is out of range (the message names it and the dataset's size), or
            a phantom source comes without ``image_size``.
        DataSourceError: the source cannot be used, as `load_dataset` would raise.
    """
    wanted = [_as_index(index) for index in indices]
    if source.kind == "synthetic":
        return _phantom_items(source, wanted, image_size)
    opened = open_file_source(
        source, keep_unannotated=keep_unannotated, cache_dir=cache_dir, mdai_domain=mdai_domain, download=download
    )
    if not wanted:
        return []
    found, count = _pick(opened.pairs(), set(wanted))
    _check_range(source, wanted, count)
    return [_item(found[index]) for index in wanted]


def _as_index(index: int) -> int:
    try:
        return operator.index(index)
    except TypeError:
        raise ValueError(f"indices must be whole numbers, but got {index!r}") from None


def _pick(walk: Walk, wanted: set[int]) -> tuple[dict[int, NativePair], int]:
    """The wanted pairs by index, and how many pairs were walked.

    The walk stops after the largest wanted index; it runs to the end, and so counts the whole
    dataset, only when an index is out of range.
    """
    last = max(wanted) if min(wanted) >= 0 else None  # a negative index needs the full count
    found: dict[int, NativePair] = {}
    count = 0
    for item in walk:
        if isinstance(item, Skipped):
            continue
        if count in wanted:
            found[count] = item
        count += 1
        if last is not None and count > last:
            break
    return found, count


def _check_range(source: DataSource, wanted: list[int], count: int) -> None:
    for index in wanted:
        if not 0 <= index < count:
            raise ValueError(f"image index {index!r} is out of range: {source} has {count} images (0 to {count - 1})")


def _item(pair: NativePair) -> NativeItem:
    return NativeItem(pair.name, normalize(pair.image), pair.mask)


def _phantom_items(source: DataSource, wanted: list[int], image_size: int | None) -> list[NativeItem]:
    if image_size is None:
        raise ValueError(f"{source} is drawn at the study's image size, which is its native size: pass image_size")
    check_image_size(image_size)
    _check_range(source, wanted, source.count)
    items = []
    for index in wanted:
        image, mask = render_phantom(source.seed, index, image_size)
        items.append(NativeItem(phantom_name(index), normalize(image), mask))
    return items
