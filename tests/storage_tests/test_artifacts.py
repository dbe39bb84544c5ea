"""Where artifacts go by default, and the store that puts them there."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from storage import StorageError, default_artifact_dir, open_artifact_store


@pytest.mark.parametrize(
    ("url", "directory"),
    [
        ("sqlite:///hpo.db", Path("hpo-artifacts")),
        ("sqlite:///some/dir/name.db", Path("some/dir/name-artifacts")),
        ("sqlite:////srv/hpo/lung.db?timeout=30", Path("/srv/hpo/lung-artifacts")),
        ("journal:///nfs/runs/lung.log", Path("nfs/runs/lung-artifacts")),
        ("sqlite:///:memory:", Path("hpo-artifacts")),
        ("postgresql://u:p@h/db", Path("hpo-artifacts")),
    ],
)
def test_default_artifact_dir(url: str, directory: Path) -> None:
    assert default_artifact_dir(url) == directory


def test_default_artifact_dir_rejects_an_unsupported_url() -> None:
    with pytest.raises(StorageError, match="unsupported storage URL"):
        default_artifact_dir("mysql://h/db")


def test_store_creates_its_directory_and_round_trips_an_artifact(tmp_path: Path) -> None:
    store = open_artifact_store(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()
    study = optuna.create_study()
    trial = study.ask()
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"\x00\x01")
    artifact_id = optuna.artifacts.upload_artifact(artifact_store=store, file_path=str(weights), study_or_trial=trial)
    copy = tmp_path / "copy.bin"
    optuna.artifacts.download_artifact(artifact_store=store, file_path=str(copy), artifact_id=artifact_id)
    assert copy.read_bytes() == b"\x00\x01"


def test_store_over_a_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    with pytest.raises(StorageError, match="cannot create the artifact directory"):
        open_artifact_store(tmp_path / "taken")
