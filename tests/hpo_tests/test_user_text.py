"""User-supplied text (names, paths, TOML, URLs) is printed as text, and bad input is one line on stderr."""

from __future__ import annotations

import shlex
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner, Result

from hpo.cli import app
from tests.objectives_tests.data.conftest import chest, write_png

runner = CliRunner()


def _storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studies.db'}"


def _one_error_line(result: Result) -> str:
    """The command failed with exit 1 and said why in exactly one line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("name", ["a[/]b", "lungs[v2]", "[bold]x", "with space [red]"])
def test_study_names_with_brackets_are_printed_as_given(tmp_path: Path, name: str) -> None:
    storage = _storage(tmp_path)
    created = runner.invoke(app, ["study", "create", name, "--storage", storage, "--data", "synthetic:12"])
    assert created.exit_code == 0, created.output
    assert f"Created study {name!r}" in created.stdout
    suggested = created.stdout.split("Attach workers with: `")[1].split("`")[0]
    assert shlex.split(suggested)[:3] == ["hpo", "worker", name]  # pasteable as printed
    listed = runner.invoke(app, ["study", "list", "--storage", storage, "--format", "json"])
    assert listed.exit_code == 0 and f'"study": "{name}"' in listed.stdout
    table = runner.invoke(app, ["study", "show", name, "--storage", storage])
    assert table.exit_code == 0 and "Traceback" not in table.output
    missing = runner.invoke(app, ["study", "best", name, "--storage", storage])
    assert name in _one_error_line(missing)
    assert optuna.load_study(study_name=name, storage=storage).study_name == name


def test_a_bracketed_source_path_is_one_error_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["study", "create", "s", "--storage", _storage(tmp_path), "--data", "folder:/x/run[/]2"]
    )
    assert "/x/run[/]2" in _one_error_line(result)
    inspected = runner.invoke(app, ["data", "inspect", "folder:/x/run[/]2"])
    assert "/x/run[/]2" in _one_error_line(inspected)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[spaces]\nrotation = 90\n", "[space]"),
        (b"[space]\nrotation = { low = 0, high = 400 }\n", "space.rotation.high"),
        ("[space]\n# rotaci\u00f3n\nrotation = 90\n".encode("latin-1"), "UTF-8"),
    ],
)
def test_space_file_errors_keep_their_text_and_name_the_file(tmp_path: Path, content: bytes, expected: str) -> None:
    space = tmp_path / "my[space].toml"
    space.write_bytes(content)
    result = runner.invoke(app, ["study", "create", "s", "--storage", _storage(tmp_path), "--space", str(space)])
    line = _one_error_line(result)
    assert expected in line and "my[space].toml" in line


def test_a_space_directory_is_one_error_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["study", "create", "s", "--storage", _storage(tmp_path), "--space", str(tmp_path)])
    assert "is a directory" in _one_error_line(result)


def test_heartbeat_settings_are_checked_before_anything_starts(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    result = runner.invoke(
        app, ["worker", "s", "--storage", storage, "--heartbeat-interval", "10", "--grace-period", "5"]
    )
    assert "grace period" in _one_error_line(result)
    assert not (tmp_path / "studies.db").exists()


@pytest.mark.parametrize("command", [["worker", "s"], ["study", "list"], ["study", "show", "s"], ["report", "s"]])
def test_reading_a_missing_sqlite_file_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    extra = ["--out", str(tmp_path / "r")] if command[0] == "report" else []
    result = runner.invoke(app, [*command, "--storage", _storage(tmp_path), *extra])
    assert "does not exist" in _one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def _half_masked_folder(root: Path) -> Path:
    """12 images, 6 of them with a mask, and one ``.png`` that is not an image."""
    for index in range(12):
        image, mask = chest(48, 40, (8, 6, 40, 34))
        write_png(root / "images" / f"case{index:02d}.png", image)
        if index % 2 == 0:
            write_png(root / "masks" / f"case{index:02d}.png", mask)
    (root / "images" / "notes.png").write_text("not an image")
    return root


def test_study_create_refuses_a_source_that_is_mostly_skipped(tmp_path: Path) -> None:
    folder = _half_masked_folder(tmp_path / "data")
    storage = _storage(tmp_path)
    refused = runner.invoke(app, ["study", "create", "s", "--storage", storage, "--data", f"folder:{folder}"])
    line = _one_error_line(refused)
    assert "7 of 13 items" in line and "--max-skipped" in line
    assert optuna.get_all_study_names(storage) == []

    allowed = runner.invoke(
        app, ["study", "create", "s", "--storage", storage, "--data", f"folder:{folder}", "--max-skipped", "0.6"]
    )
    assert allowed.exit_code == 0, allowed.output
    warnings = allowed.stderr.strip().splitlines()
    assert len(warnings) == 7 and all(line.startswith("warning: skipped ") for line in warnings)
    assert any("notes.png" in line for line in warnings)
    assert "4 training / 1 validation / 1 locked test images" in allowed.stdout


def test_passwords_never_show_whatever_they_hold() -> None:
    for url, secret in [
        ("postgresql://postgres:se@cret99@127.0.0.1:1/db", "cret99"),
        ("postgresql://postgres:my secret99@127.0.0.1:1/db", "secret99"),
        ("postgresql://postgres:pa:ss[/]99@127.0.0.1:1/db", "ss[/]99"),
    ]:
        result = runner.invoke(app, ["study", "list", "--storage", url])
        line = _one_error_line(result)
        assert secret not in result.output and "percent-encode" in line, line


def test_a_readable_error_for_an_unreachable_server_masks_an_encoded_password() -> None:
    result = runner.invoke(app, ["study", "list", "--storage", "postgresql://postgres:Zq%40rt99@127.0.0.1:1/db"])
    line = _one_error_line(result)
    assert "Zq" not in line and "rt99" not in line and "***" in line


def test_a_study_without_a_test_set_is_created_with_a_warning(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    created = runner.invoke(
        app, ["study", "create", "s", "--storage", storage, "--data", "synthetic:10", "--test-fraction", "0"]
    )
    assert created.exit_code == 0, created.output
    assert "(no locked test set)" in created.stdout
    assert created.stderr.startswith("warning: no locked test set (--test-fraction 0)")
