"""``hpo data inspect`` run in process, on a tiny image folder and on bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from hpo.cli.data import data_app

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    """The data commands mounted as the main CLI mounts them."""
    main = typer.Typer()
    main.add_typer(data_app, name="data")
    return main


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HPO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MDAI_TOKEN", raising=False)


@pytest.fixture
def xrays(tmp_path):
    root = tmp_path / "xrays"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    image = np.full((12, 16), 30, dtype=np.uint8)
    mask = np.zeros((12, 16), dtype=np.uint8)
    image[3:9, 2:14] = 220
    mask[3:9, 2:14] = 255
    for name in ("a.png", "b.png"):
        Image.fromarray(image).save(root / "images" / name)
        Image.fromarray(mask).save(root / "masks" / name)
    Image.fromarray(image).save(root / "images" / "orphan.png")
    return root


def test_inspect_prints_one_json_object(app, xrays, tmp_path):
    preview = tmp_path / "preview.png"
    result = runner.invoke(
        app,
        ["data", "inspect", f"folder:{xrays}", "--image-size", "16", "--format", "json",
         "--preview", str(preview)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"] == f"folder:{xrays}"
    assert report["count"] == 2 and report["image_size"] == 16
    assert report["original_sizes"] == [{"height": 12, "width": 16, "count": 2}]
    assert report["skipped"] == [{"item": "images/orphan.png", "reason": "no mask in masks/"}]
    assert 0.3 < report["lung_fraction"]["mean"] < 0.45  # 6 x 12 of 12 x 16 = 0.375
    assert preview.is_file()


def test_inspect_prints_a_table(app, xrays):
    result = runner.invoke(app, ["data", "inspect", f"folder:{xrays}", "--image-size", "16"])
    assert result.exit_code == 0, result.output
    for expected in ("images", "16x12 (2)", "lung fraction", "images/orphan.png", "no mask"):
        assert expected in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nope:x"], 2, "unknown data source"),
        (["synthetic", "--format", "yaml"], 2, "yaml"),
        (["synthetic", "--image-size", "1"], 2, "image-size"),
        (["folder:/definitely/not/here"], 1, "is not a directory"),
        (["mdai:LxR6zdR2"], 1, "MDAI_TOKEN"),
    ],
)
def test_bad_input_is_one_clean_error(app, args, code, message):
    result = runner.invoke(app, ["data", "inspect", *args])
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
