"""Parses ``--data`` strings and loads the matching source, through the on-disk cache.

Forms: ``synthetic`` or ``synthetic:COUNT`` (the phantom), ``folder:PATH``,
``mdai-export:PATH`` and ``mdai:PROJECT_ID``.

Caching: file sources are decoded once per content and settings and then read from
``cache_dir`` (``$HPO_CACHE_DIR`` or ``~/.cache/lung-hpo`` when None); ``use_cache=False``
decodes every time and writes nothing. The phantom is never cached: generating it is about as
fast as reading it back. ``mdai:`` downloads go to ``<cache dir>/mdai-downloads/<domain>/<id>``
whatever ``use_cache`` says, since mdai needs somewhere to put them and reuses them when the
project has not changed. Every ``mdai:`` load asks MD.ai for the current export first, so
studies with many workers are better pointed at a downloaded ``mdai-export:PATH``.

`open_file_source` finds a file source once for both `load_dataset` and
`objectives.data.native.load_native`, which walk the same pairs (`objectives.data.pairs`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from objectives.data import folder as folder_source
from objectives.data import mdai as mdai_source
from objectives.data.cache import cache_key, cached_dataset, default_cache_dir
from objectives.data.dataset import Dataset, DataSourceError
from objectives.data.mdai_annotations import choose_labels
from objectives.data.mdai_export import export_labels
from objectives.data.pairs import Walk
from objectives.phantom import make_phantom_dataset

__all__ = [
    "DEFAULT_SYNTHETIC_COUNT",
    "KINDS",
    "MIN_IMAGE_SIZE",
    "DataSource",
    "DataSourceError",
    "FileSource",
    "check_image_size",
    "load_dataset",
    "load_file_source",
    "open_file_source",
    "parse_source",
    "phantom_name",
]

DEFAULT_SYNTHETIC_COUNT = 200
KINDS = ("synthetic", "folder", "mdai-export", "mdai")
MIN_IMAGE_SIZE = 4  # anything smaller cannot show a lung
_DOMAIN = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$")


@dataclass(frozen=True)
class DataSource:
    """A parsed ``--data`` value. It never holds secrets, so it can be stored in a study."""

    kind: str
    location: str = ""  # path or project id; empty for the phantom
    count: int = DEFAULT_SYNTHETIC_COUNT  # images, for the phantom
    label_ids: tuple[str, ...] = ()  # MD.ai label ids; empty means labels named like "lung"
    seed: int = 0  # the phantom's seed
    keep_unannotated: bool = False  # MD.ai: keep images without lung annotation, mask empty
    mdai_domain: str = mdai_source.DEFAULT_MDAI_DOMAIN  # MD.ai host for ``mdai:`` sources

    def __str__(self) -> str:
        if self.kind == "synthetic":
            return f"synthetic:{self.count}"
        return f"{self.kind}:{self.location}"


def parse_source(
    text: str,
    label_ids: tuple[str, ...] = (),
    *,
    keep_unannotated: bool = False,
    mdai_domain: str = mdai_source.DEFAULT_MDAI_DOMAIN,
) -> DataSource:
    """Reads a ``--data`` value, e.g. ``synthetic:120`` or ``folder:/data/shenzhen``.

    Args:
        text: the ``--data`` value.
        label_ids: MD.ai label ids (``--label-id``); only MD.ai sources accept them.
        keep_unannotated: MD.ai sources: keep images that have no lung annotation.
        mdai_domain: MD.ai host for ``mdai:`` sources.
    """
    kind, _, rest = text.strip().partition(":")
    if kind not in KINDS:
        raise DataSourceError(
            f"unknown data source {text!r}: use synthetic[:COUNT], folder:PATH, mdai-export:PATH or mdai:PROJECT_ID"
        )
    if label_ids and not kind.startswith("mdai"):
        raise DataSourceError(f"label ids only apply to MD.ai sources, but got {label_ids!r} for {kind!r}")
    if kind == "synthetic":
        if not rest:
            return DataSource("synthetic")
        if not rest.isdigit() or int(rest) < 2:
            raise DataSourceError(f"synthetic:COUNT needs a whole number of at least 2, but got {rest!r}")
        return DataSource("synthetic", count=int(rest))
    if not rest:
        raise DataSourceError(f"data source {kind!r} needs a location, e.g. {kind}:PATH")
    return DataSource(
        kind,
        location=rest,
        label_ids=tuple(label_ids),
        keep_unannotated=keep_unannotated,
        mdai_domain=mdai_domain,
    )


def load_dataset(
    source: DataSource,
    image_size: int,
    *,
    keep_unannotated: bool | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    mdai_domain: str | None = None,
    download: mdai_source.Downloader | None = None,
) -> Dataset:
    """Loads a source at ``image_size`` pixels square.

    Args:
        source: from `parse_source`.
        image_size: side of the square images and masks.
        keep_unannotated: MD.ai sources only: keep images without a lung annotation, with an
            empty mask, instead of reporting and leaving them out; None takes the source's.
        cache_dir: cache folder; None means `default_cache_dir`.
        use_cache: read and write the cache (see the module docstring).
        mdai_domain: MD.ai host for ``mdai:`` sources; None takes the source's.
        download: replaces `download_project` (tests use a local export).
    """
    check_image_size(image_size)
    if source.kind == "synthetic":
        return _phantom(source, image_size)
    root = default_cache_dir() if cache_dir is None else cache_dir
    opened = open_file_source(
        source, keep_unannotated=keep_unannotated, cache_dir=root, mdai_domain=mdai_domain, download=download
    )
    return load_file_source(opened, source.kind, image_size, cache_dir=root, use_cache=use_cache)


def load_file_source(
    opened: FileSource, kind: str, image_size: int, *, cache_dir: Path | None = None, use_cache: bool = True
) -> Dataset:
    """`load_dataset` of a source already opened (`open_file_source`), which is not opened again.

    Args:
        kind: the source's kind, naming its cache entries.
    """
    check_image_size(image_size)
    root = default_cache_dir() if cache_dir is None else cache_dir

    def build() -> Dataset:
        return opened.load(image_size)

    return cached_dataset(root, kind, opened.cache_key(image_size), build) if use_cache else build()


def check_image_size(image_size: int) -> None:
    """Refuses image sizes too small to show a lung."""
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be at least {MIN_IMAGE_SIZE}, but got {image_size!r}")


def phantom_name(index: int) -> str:
    """The dataset name of phantom image ``index``."""
    return f"phantom-{index:05d}"


def _phantom(source: DataSource, image_size: int) -> Dataset:
    images, masks = make_phantom_dataset(source.count, image_size, source.seed)
    names = tuple(phantom_name(index) for index in range(source.count))
    sizes = ((image_size, image_size),) * source.count
    return Dataset(images, masks, names, original_sizes=sizes)


@dataclass(frozen=True)
class FileSource:
    """A folder or MD.ai source found on disk: its cache key, its loader and its walk of pairs.

    ``load`` letterboxes the pairs that ``pairs`` walks (`load_folder`, `load_export`).
    """

    cache_key: Callable[[int], str]  # the cache key of the source at an image size
    load: Callable[[int], Dataset]  # decodes the whole source at an image size
    pairs: Callable[[], Walk]  # a fresh walk of the source (see `objectives.data.pairs`)
    lung_labels: Callable[[], tuple[str, ...]] = tuple  # MD.ai: the labels used as lung, as "ID (name)"


def open_file_source(
    source: DataSource,
    *,
    keep_unannotated: bool | None = None,
    cache_dir: Path | None = None,
    mdai_domain: str | None = None,
    download: mdai_source.Downloader | None = None,
) -> FileSource:
    """Finds a folder or MD.ai source on disk, downloading ``mdai:`` projects first.

    `load_dataset` and `objectives.data.native.load_native` both open sources here, so they
    walk the same files under the same rules.

    Args:
        source: a ``folder``, ``mdai-export`` or ``mdai`` source.
        keep_unannotated: MD.ai sources: None takes the source's.
        cache_dir: holds ``mdai:`` downloads; None means `default_cache_dir`.
        mdai_domain: MD.ai host for ``mdai:`` sources; None takes the source's.
        download: replaces `download_project` (tests use a local export).
    """
    if source.kind == "folder":
        return _folder_source(source)
    if source.kind in ("mdai-export", "mdai"):
        keep = source.keep_unannotated if keep_unannotated is None else keep_unannotated
        domain = source.mdai_domain if mdai_domain is None else mdai_domain
        root = default_cache_dir() if cache_dir is None else cache_dir
        return _mdai_source(source, keep, domain, root, download)
    raise DataSourceError(f"data source {source.kind!r} is not supported")


def _folder_source(source: DataSource) -> FileSource:
    layout = folder_source.find_layout(Path(source.location).expanduser().resolve())

    def key(image_size: int) -> str:
        return cache_key(
            kind="folder",
            location=str(layout.root),
            fingerprint=folder_source.folder_fingerprint(layout),
            image_size=image_size,
        )

    def load(image_size: int) -> Dataset:
        return folder_source.load_folder(layout.root, image_size)

    def pairs() -> Walk:
        return folder_source.native_pairs(layout.root)

    return FileSource(key, load, pairs)


def _mdai_source(
    source: DataSource,
    keep_unannotated: bool,
    mdai_domain: str,
    cache_root: Path,
    download: mdai_source.Downloader | None,
) -> FileSource:
    """An MD.ai export, downloaded first for ``mdai:``."""
    if source.kind == "mdai":
        location = _download(source.location, mdai_domain, cache_root, download)
        where = f"{mdai_domain}/{source.location}"
    else:
        location = Path(source.location).expanduser().resolve()
        where = str(location)
    paths = mdai_source.find_export(location)

    def key(image_size: int) -> str:
        return cache_key(
            kind=source.kind,
            location=where,
            fingerprint=mdai_source.export_fingerprint(paths),
            image_size=image_size,
            label_ids=list(source.label_ids),
            keep_unannotated=keep_unannotated,
        )

    def load(image_size: int) -> Dataset:
        return mdai_source.load_export(paths, image_size, source.label_ids, keep_unannotated)

    def pairs() -> Walk:
        return mdai_source.native_pairs(paths, source.label_ids, keep_unannotated)

    def lung_labels() -> tuple[str, ...]:
        labels = export_labels(paths)
        return tuple(f"{lid} ({labels[lid].get('name')})" for lid in choose_labels(labels, source.label_ids))

    return FileSource(key, load, pairs, lung_labels)


def _download(project_id: str, domain: str, cache_root: Path, download: mdai_source.Downloader | None) -> Path:
    """Checks the id, domain and token before anything touches the network, then downloads."""
    mdai_source.validate_project_id(project_id)
    if not _DOMAIN.match(domain):
        raise DataSourceError(f"an MD.ai domain looks like 'public.md.ai', but got {domain!r}")
    token = mdai_source.token_from_env()
    dest = cache_root / "mdai-downloads" / domain / project_id
    return (download or mdai_source.download_project)(project_id, domain, token, dest)
