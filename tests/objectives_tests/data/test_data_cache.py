from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

import objectives.data.cache as cache
import objectives.data.folder as folder
from objectives.data import Dataset, Skipped, load_dataset, parse_source


@pytest.fixture
def source_dir(tmp_path, png_file, chest_pair):
    root = tmp_path / "xrays"
    image, mask = chest_pair(12, 10, (2, 2, 10, 8))
    for name in ("a", "b"):
        png_file(root / "images" / f"{name}.png", image)
        png_file(root / "masks" / f"{name}.png", mask)
    png_file(root / "images" / "unmasked.png", image)
    return root


@pytest.fixture
def decode_count(monkeypatch):
    """Counts real decodes of folder sources."""
    calls = []
    original = folder.load_folder

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(folder, "load_folder", counting)
    return calls


def _load(source_dir, cache_dir, **kwargs):
    return load_dataset(parse_source(f"folder:{source_dir}"), 8, cache_dir=cache_dir, **kwargs)


def _assert_same(left: Dataset, right: Dataset) -> None:
    np.testing.assert_array_equal(left.images, right.images)
    np.testing.assert_array_equal(left.masks, right.masks)
    assert (left.names, left.skipped, left.original_sizes) == (
        right.names,
        right.skipped,
        right.original_sizes,
    )


def _entries(cache_dir):
    return sorted(cache_dir.glob("*.npz"))


def test_second_load_reads_the_cache(source_dir, tmp_path, decode_count):
    cache_dir = tmp_path / "cache"
    first = _load(source_dir, cache_dir)
    second = _load(source_dir, cache_dir)
    assert len(decode_count) == 1
    _assert_same(first, second)
    assert second.skipped == (Skipped("images/unmasked.png", "no mask in masks/"),)
    assert [path.name.split("-")[0] for path in _entries(cache_dir)] == ["folder"]


def test_changed_file_or_size_rebuilds(source_dir, tmp_path, decode_count, png_file):
    cache_dir = tmp_path / "cache"
    _load(source_dir, cache_dir)
    png_file(source_dir / "masks" / "a.png", np.zeros((12, 10), dtype=np.uint8))
    changed = _load(source_dir, cache_dir)
    assert len(decode_count) == 2
    assert not changed.masks[0].any()
    load_dataset(parse_source(f"folder:{source_dir}"), 16, cache_dir=cache_dir)
    assert len(decode_count) == 3
    assert len(_entries(cache_dir)) == 3


def test_truncated_cache_file_is_rebuilt(source_dir, tmp_path, decode_count):
    cache_dir = tmp_path / "cache"
    first = _load(source_dir, cache_dir)
    (entry,) = _entries(cache_dir)
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    _assert_same(_load(source_dir, cache_dir), first)
    assert len(decode_count) == 2
    _load(source_dir, cache_dir)
    assert len(decode_count) == 2  # the rebuilt entry is whole again


def test_leftover_partial_temp_file_is_ignored_then_cleaned(source_dir, tmp_path, decode_count):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    leftover = cache_dir / ".tmp-folder-dead-worker.part"
    leftover.write_bytes(b"PK\x03\x04 half an archive")
    fresh = cache_dir / ".tmp-folder-live-worker.part"
    fresh.write_bytes(b"PK\x03\x04 still being written")
    an_hour_ago = time.time() - 3700
    os.utime(leftover, (an_hour_ago, an_hour_ago))
    _load(source_dir, cache_dir)
    assert len(decode_count) == 1
    assert not leftover.exists() and fresh.exists()


def _tiny_dataset() -> Dataset:
    return Dataset(
        images=np.zeros((1, 4, 4, 1), np.float32),
        masks=np.ones((1, 4, 4, 1), np.uint8),
        names=("x",),
        skipped=(Skipped("y", "why"),),
        original_sizes=((4, 4),),
    )


def test_write_interrupted_midway_leaves_no_file(tmp_path, monkeypatch):
    def killed(handle, **arrays):
        handle.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(cache.np, "savez_compressed", killed)
    target = tmp_path / "folder-abc.npz"
    with pytest.raises(KeyboardInterrupt):
        cache.write_cache(target, "abc", _tiny_dataset())
    assert list(tmp_path.iterdir()) == []


def test_concurrent_writers_leave_one_whole_entry(tmp_path):
    target = tmp_path / "folder-abc.npz"
    writers = [threading.Thread(target=cache.write_cache, args=(target, "abc", _tiny_dataset())) for _ in range(6)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert [path.name for path in tmp_path.iterdir()] == ["folder-abc.npz"]
    _assert_same(cache.read_cache(target, "abc"), _tiny_dataset())


def test_entry_with_another_key_is_not_trusted(tmp_path):
    target = tmp_path / "folder-abc.npz"
    cache.write_cache(target, "abc", _tiny_dataset())
    assert cache.read_cache(target, "other") is None
    assert not target.exists()


def test_use_cache_false_writes_nothing(source_dir, tmp_path, decode_count):
    _load(source_dir, tmp_path / "cache", use_cache=False)
    _load(source_dir, tmp_path / "cache", use_cache=False)
    assert len(decode_count) == 2
    assert not (tmp_path / "cache").exists()


def test_default_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HPO_CACHE_DIR", str(tmp_path / "here"))
    assert cache.default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("HPO_CACHE_DIR")
    assert cache.default_cache_dir().parts[-2:] == (".cache", "lung-hpo")


def test_cache_key_depends_on_every_part():
    base = cache.cache_key(kind="folder", location="/x", fingerprint="f", image_size=8)
    assert base == cache.cache_key(image_size=8, fingerprint="f", location="/x", kind="folder")
    assert base != cache.cache_key(kind="folder", location="/x", fingerprint="g", image_size=8)
    assert base != cache.cache_key(kind="folder", location="/x", fingerprint="f", image_size=9)
