"""Command lines suggested to the user: pasteable as printed, and never holding a secret."""

from __future__ import annotations

import shlex
from pathlib import Path

from storage import DEFAULT_STORAGE_URL
from storage.artifacts import default_artifact_dir
from storage.urls import url_password

__all__ = ["dashboard_command", "finalize_command", "hpo_command", "worker_command"]


def hpo_command(storage_url: str, *words: str) -> str:
    """``hpo WORDS...`` with ``--storage`` when it is not the default, quoted for a POSIX shell.

    A storage URL with a password is never written out, masked or not (a masked one could not be
    pasted): the command reads it from ``HPO_STORAGE`` instead, and says so.
    """
    command = shlex.join(["hpo", *words])
    if storage_url == DEFAULT_STORAGE_URL:
        return f"`{command}`"
    if url_password(storage_url):
        return f"`{command}` (with HPO_STORAGE set to the storage URL)"
    return f"`{command} --storage {shlex.quote(storage_url)}`"


def worker_command(name: str, storage_url: str) -> str:
    """The command that attaches a worker to study ``name``."""
    return hpo_command(storage_url, "worker", name)


def finalize_command(name: str, storage_url: str) -> str:
    """The command that scores study ``name``'s best configuration on its locked test set."""
    return hpo_command(storage_url, "study", "finalize", name)


def dashboard_command(storage_url: str, artifact_dir: Path) -> str:
    """The command that opens the storage's studies in optuna-dashboard, prediction figures included."""
    words = ["dashboard"]
    if Path(artifact_dir) != default_artifact_dir(storage_url):
        words += ["--artifacts", str(artifact_dir)]
    return hpo_command(storage_url, *words)
