"""The one exception the storage package raises."""

from __future__ import annotations

__all__ = ["StorageError"]


class StorageError(RuntimeError):
    """A storage that cannot be opened or reached; the message is one line, password masked."""
