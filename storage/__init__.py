"""Optuna storages from URLs: the only package that builds one.

``sqlite:///FILE`` (the default, one machine), ``postgresql://`` or ``postgresql+psycopg2://``
(many workers on many machines) and ``journal:///FILE`` (a journal file on a shared file system).
"""

from __future__ import annotations

from storage.artifacts import default_artifact_dir, open_artifact_store
from storage.errors import StorageError
from storage.factory import DEFAULT_STORAGE_URL, open_storage
from storage.urls import StorageKind, StorageUrl, mask_url, parse_storage_url

__all__ = [
    "DEFAULT_STORAGE_URL",
    "StorageError",
    "StorageKind",
    "StorageUrl",
    "default_artifact_dir",
    "mask_url",
    "open_artifact_store",
    "open_storage",
    "parse_storage_url",
]
