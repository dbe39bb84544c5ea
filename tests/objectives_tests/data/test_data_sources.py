from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from objectives.data import DataSource, DataSourceError, load_dataset, parse_source

SHENZHEN = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "shenzhen-256"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("synthetic", DataSource("synthetic")),
        ("synthetic:12", DataSource("synthetic", count=12)),
        ("folder:/data/x", DataSource("folder", location="/data/x")),
        ("mdai-export:exp", DataSource("mdai-export", location="exp")),
        ("mdai:LxR6zdR2", DataSource("mdai", location="LxR6zdR2")),
    ],
)
def test_parse_source(text, expected):
    assert parse_source(text) == expected


@pytest.mark.parametrize(
    ("text", "label_ids", "message"),
    [
        ("s3://bucket", (), "unknown data source 's3://bucket'"),
        ("synthetic:1", (), "but got '1'"),
        ("folder:", (), "needs a location"),
        ("folder:/x", ("L_1",), "only apply to MD.ai sources"),
    ],
)
def test_parse_source_rejects(text, label_ids, message):
    with pytest.raises(DataSourceError, match=message):
        parse_source(text, label_ids)


def test_synthetic_source_skips_the_cache(tmp_path):
    dataset = load_dataset(parse_source("synthetic:3"), 16, cache_dir=tmp_path / "cache")
    assert dataset.images.shape == (3, 16, 16, 1)
    assert dataset.original_sizes == ((16, 16),) * 3
    assert not (tmp_path / "cache").exists()


def test_image_size_is_checked():
    with pytest.raises(ValueError, match="but got 2"):
        load_dataset(parse_source("synthetic:3"), 2)


def _refuse_download(*args):
    raise AssertionError("no download may start without a token")


def test_mdai_without_token_fails_before_any_download(monkeypatch, tmp_path):
    monkeypatch.delenv("MDAI_TOKEN", raising=False)
    with pytest.raises(DataSourceError, match="MDAI_TOKEN") as caught:
        load_dataset(parse_source("mdai:LxR6zdR2"), 32, cache_dir=tmp_path, download=_refuse_download)
    assert "export MDAI_TOKEN=" in str(caught.value)


def test_mdai_rejects_bad_ids_and_domains(monkeypatch, tmp_path):
    monkeypatch.setenv("MDAI_TOKEN", "t")
    with pytest.raises(DataSourceError, match=r"but got '\.\./x'"):
        load_dataset(parse_source("mdai:../x"), 32, cache_dir=tmp_path, download=_refuse_download)
    with pytest.raises(DataSourceError, match="but got 'evil/host'"):
        load_dataset(
            parse_source("mdai:abc"),
            32,
            cache_dir=tmp_path,
            mdai_domain="evil/host",
            download=_refuse_download,
        )


def test_mdai_loads_the_downloaded_export(monkeypatch, tmp_path, export_builder, polygon):
    image = np.zeros((20, 20), dtype=np.uint8)
    image[5:15, 5:15] = 255
    uids = export_builder.add_image(1, image)
    export_builder.annotate(uids, export_builder.LUNG, {"vertices": polygon(5, 5, 14, 14)})
    annotations = export_builder.write()
    token = "tok-9f8e7d6c5b4a"
    monkeypatch.setenv("MDAI_TOKEN", token)
    calls = []

    def fake_download(project_id, domain, given_token, dest):
        calls.append((project_id, domain, given_token, dest))
        return annotations

    cache_dir = tmp_path / "cache"
    source = parse_source("mdai:LxR6zdR2")
    dataset = load_dataset(source, 20, cache_dir=cache_dir, download=fake_download)

    assert calls == [("LxR6zdR2", "public.md.ai", token, cache_dir / "mdai-downloads/public.md.ai/LxR6zdR2")]
    local = load_dataset(parse_source(f"mdai-export:{export_builder.root}"), 20, use_cache=False)
    np.testing.assert_array_equal(dataset.images, local.images)
    np.testing.assert_array_equal(dataset.masks, local.masks)
    assert dataset.names == local.names
    assert token not in repr(source) and token not in str(source)
    for entry in cache_dir.rglob("*"):
        assert token not in entry.name
        if entry.is_file():
            assert token.encode() not in entry.read_bytes()


def test_mdai_export_cache_key_includes_the_labels(tmp_path, export_builder, polygon):
    image = np.zeros((20, 20), dtype=np.uint8)
    uids = export_builder.add_image(1, image)
    export_builder.annotate(uids, export_builder.LUNG, {"vertices": polygon(5, 5, 14, 14)})
    export_builder.annotate(uids, export_builder.NODULE, {"vertices": polygon(6, 6, 8, 8)})
    export_builder.write()
    cache_dir = tmp_path / "cache"
    lungs = load_dataset(parse_source(f"mdai-export:{export_builder.root}"), 20, cache_dir=cache_dir)
    nodules = load_dataset(
        parse_source(f"mdai-export:{export_builder.root}", (export_builder.NODULE,)),
        20,
        cache_dir=cache_dir,
    )
    assert lungs.masks.sum() > nodules.masks.sum() > 0
    assert len(list(cache_dir.glob("mdai-export-*.npz"))) == 2


@pytest.mark.skipif(not SHENZHEN.is_dir(), reason="shared Shenzhen data not present")
def test_shenzhen_folder_loads_all_300_pairs(tmp_path):
    dataset = load_dataset(parse_source(f"folder:{SHENZHEN}"), 32, use_cache=False)
    assert len(dataset) == 300 and dataset.skipped == ()
    assert set(dataset.original_sizes) == {(256, 256)}
    fractions = dataset.masks.reshape(300, -1).mean(axis=1)
    assert 0.05 < fractions.min() and fractions.max() < 0.5
