"""Where a study keeps its artifacts (trained weights, plots): a directory beside its storage.

Optuna stores only an artifact's id in the study, so the files must live somewhere every worker
can read; beside a SQLite or journal file that is the same disk, for PostgreSQL the working
directory is only a default that ``--artifacts`` / ``HPO_ARTIFACTS`` override.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storage.errors import StorageError
from storage.urls import parse_storage_url

if TYPE_CHECKING:
    import optuna

__all__ = ["DEFAULT_ARTIFACT_DIR", "default_artifact_dir", "open_artifact_store"]

# For storages that are not a local file: PostgreSQL and in-memory SQLite.
DEFAULT_ARTIFACT_DIR = Path("hpo-artifacts")
_SUFFIX = "-artifacts"


def default_artifact_dir(storage_url: str) -> Path:
    """The artifact directory of a study kept at ``storage_url``.

    ``sqlite:///runs/lung.db`` and ``journal:///runs/lung.log`` give ``runs/lung-artifacts``;
    anything else gives ``hpo-artifacts`` in the working directory.

    Args:
        storage_url: A storage URL in one of the forms ``open_storage`` accepts.

    Raises:
        StorageError: ``storage_url`` has none of the accepted forms.
    """
    path = parse_storage_url(storage_url).path
    if path is None:
        return DEFAULT_ARTIFACT_DIR
    return path.with_name(path.stem + _SUFFIX)


def open_artifact_store(path: Path) -> optuna.artifacts.FileSystemArtifactStore:
    """An artifact store in the directory ``path``, created with its parents if missing.

    Args:
        path: The directory, e.g. from ``default_artifact_dir``.

    Raises:
        StorageError: ``path`` cannot be created or is not a directory.
    """
    from optuna.artifacts import FileSystemArtifactStore

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = " ".join(str(error).split())
        message = f"cannot create the artifact directory {str(path)!r}: {reason}"
        raise StorageError(message) from None
    return FileSystemArtifactStore(path)
