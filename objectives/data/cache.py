"""On-disk cache of decoded, resized datasets, so that each worker of a study skips decoding.

One compressed ``.npz`` file per (source, content, preprocessing) key. The key is a SHA-256 of
the source kind and location, a fingerprint of the source's files (names, sizes and modification
times of images and masks, the full content of an MD.ai annotations file) and the settings that
change the arrays (image size, label ids, ``keep_unannotated``, `FORMAT_VERSION`). Editing,
adding or removing an input file therefore changes the key, and the stale entry is simply never
read again.

Writes go to a uniquely named temporary file in the cache folder, are flushed and fsynced, then
renamed over the final name with `os.replace`, which is atomic on POSIX and Windows. A reader
sees either no file or a complete one: a worker killed mid-write leaves only a ``.tmp-*`` file,
which readers never open and later writers delete once it is an hour old; two workers building
the same entry both write complete files and the last rename wins. A file that still fails to
load (truncated by a full disk, say, or edited by hand) is logged, deleted and rebuilt.

Entries are created readable by their owner only (``tempfile``'s 0600), like the medical images
they are made from. Secrets never reach this module: keys are built from `DataSource` fields,
which hold none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from objectives.data.dataset import Dataset, Skipped

__all__ = [
    "CACHE_ENV_VAR",
    "FORMAT_VERSION",
    "cache_key",
    "cached_dataset",
    "default_cache_dir",
    "file_fingerprint",
    "read_cache",
    "write_cache",
]

CACHE_ENV_VAR = "HPO_CACHE_DIR"
FORMAT_VERSION = 1  # bump when preprocessing changes, so old entries are not reused
_TEMP_PREFIX = ".tmp-"
_STALE_TEMP_SECONDS = 3600.0  # older temporary files belong to dead writers

_log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$HPO_CACHE_DIR`` when set, else ``~/.cache/lung-hpo``."""
    configured = os.environ.get(CACHE_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "lung-hpo"


def file_fingerprint(root: Path, files: Iterable[Path]) -> str:
    """Hashes the relative names, sizes and modification times of ``files`` under ``root``.

    Reading every byte of a large X-ray folder on each start would cost as much as decoding it;
    size plus nanosecond mtime changes whenever a file is rewritten, which is what matters here.
    """
    digest = hashlib.sha256()
    for path in sorted(files):
        stat = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_size}\0".encode())
        digest.update(f"{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_key(**parts: object) -> str:
    """A stable SHA-256 of JSON-serialisable ``parts`` plus the cache format version."""
    payload = json.dumps({"format": FORMAT_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _entry_path(cache_dir: Path, kind: str, key: str) -> Path:
    return cache_dir / f"{kind}-{key[:32]}.npz"


def read_cache(path: Path, key: str) -> Dataset | None:
    """The dataset stored at ``path`` for ``key``; None when absent, stale or unreadable."""
    if not path.is_file():
        return None
    try:
        # Opened here, not by np.load, which leaks its handle when the archive is truncated.
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                raise ValueError(f"entry holds key {str(stored['key'])!r}, expected {key!r}")
            skipped = tuple(
                Skipped(str(item), str(reason))
                for item, reason in zip(stored["skipped_items"], stored["skipped_reasons"], strict=True)
            )
            return Dataset(
                images=stored["images"],
                masks=stored["masks"],
                names=tuple(str(name) for name in stored["names"]),
                skipped=skipped,
                original_sizes=tuple((int(height), int(width)) for height, width in stored["original_sizes"]),
            )
    except Exception as error:  # any unreadable entry is rebuilt, never fatal
        _log.warning("ignoring unreadable dataset cache %s (%s); rebuilding it", path, error)
        path.unlink(missing_ok=True)
        return None


def _remove_stale_temps(cache_dir: Path) -> None:
    cutoff = time.time() - _STALE_TEMP_SECONDS
    for leftover in cache_dir.glob(f"{_TEMP_PREFIX}*"):
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            continue  # another worker removed it first


def write_cache(path: Path, key: str, dataset: Dataset) -> None:
    """Atomically stores ``dataset`` at ``path`` (see the module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path.parent)
    handle = tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f"{_TEMP_PREFIX}{path.stem}-", suffix=".part", delete=False
    )
    try:
        with handle:
            np.savez_compressed(
                handle,
                key=np.array(key),
                images=dataset.images,
                masks=dataset.masks,
                names=np.array(dataset.names, dtype=str),
                original_sizes=np.array(dataset.original_sizes, dtype=np.int64).reshape(-1, 2),
                skipped_items=np.array([s.item for s in dataset.skipped], dtype=str),
                skipped_reasons=np.array([s.reason for s in dataset.skipped], dtype=str),
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Makes the rename itself durable; not possible (nor needed) on every platform."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def cached_dataset(cache_dir: Path, kind: str, key: str, build: Callable[[], Dataset]) -> Dataset:
    """Returns the cached dataset for ``key``, building and storing it on a miss.

    A cache that cannot be written (read-only or full disk) only costs speed: the freshly built
    dataset is returned and the failure is logged.

    Args:
        cache_dir: folder of cache entries; created when missing.
        kind: source kind, used as the file name prefix so entries are easy to tell apart.
        key: from `cache_key`.
        build: decodes the source; called only on a miss.
    """
    path = _entry_path(cache_dir, kind, key)
    found = read_cache(path, key)
    if found is not None:
        return found
    dataset = build()
    try:
        write_cache(path, key, dataset)
    except OSError as error:
        _log.warning("could not write dataset cache %s (%s)", path, error)
    return dataset
