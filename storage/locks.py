"""A lock shared by every worker of a study, held while one of them decides to start a trial.

Counting the trials that fill a budget and creating the next one must be one step, or two workers
that count at the same moment both start a trial and the study runs past its budget. PostgreSQL
gives that through an advisory lock (released by the server when the holder's connection dies, so
a killed worker never keeps it); a file storage through ``flock`` on a file beside it (released by
the kernel when the holder dies).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any

from storage.errors import StorageError
from storage.urls import StorageKind, error_message, parse_storage_url

__all__ = ["LOCK_SUFFIX", "StudyLock"]

LOCK_SUFFIX = ".trial-lock"  # beside a SQLite or journal file: the lock of the purpose "trial"
_POLL_S = 0.05  # seconds between two tries of a lock another worker holds


class StudyLock:
    """A re-usable, idempotently released lock named after a study, across processes and machines.

    ``acquire`` blocks until the lock is held; ``release`` may be called any number of times.

    Args:
        url: the study's storage URL (see `storage.open_storage`).
        name: the study's name; studies of one storage lock independently.
        purpose: what the lock guards; locks of different purposes never block each other.
            ``"trial"`` guards starting trials, ``"final"`` computing the study's final score.
    """

    def __init__(self, url: str, name: str, purpose: str = "trial") -> None:
        self._url = url
        self._target = parse_storage_url(url)
        key = name if purpose == "trial" else f"{name}\0{purpose}"
        self._key = zlib.crc32(key.encode()) - 2**31  # a signed 32-bit advisory-lock key
        self._suffix = f".{purpose}-lock"
        self._held: Any = None
        self._local = threading.Lock()  # in-memory SQLite: one process, so a thread lock will do

    def acquire(self) -> None:
        if self._held is not None:
            return
        if self._target.kind is StorageKind.POSTGRESQL:
            self._held = self._acquire_postgres()
        elif self._target.path is not None:
            self._held = self._acquire_file(self._target.path)
        else:
            self._local.acquire()
            self._held = self._local

    def release(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        if held is self._local:
            self._local.release()
        elif isinstance(held, int):
            os.close(held)  # closing the descriptor drops the flock
        else:
            held.close()  # ends the session, which drops its advisory locks
            held.engine.dispose()

    def __enter__(self) -> StudyLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()

    def _acquire_file(self, path: Path) -> int:
        descriptor = os.open(f"{path}{self._suffix}", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except BaseException:
            os.close(descriptor)
            raise
        return descriptor

    def _acquire_postgres(self) -> Any:
        import sqlalchemy
        from sqlalchemy.pool import NullPool

        from storage.factory import connect_args

        engine = sqlalchemy.create_engine(self._target.url, poolclass=NullPool, connect_args=connect_args())
        try:
            connection = engine.connect()
        except Exception as error:
            engine.dispose()
            raise StorageError(error_message("cannot reach storage", self._url, error)) from None
        try:
            query = sqlalchemy.text("SELECT pg_try_advisory_lock(:key)")
            while not connection.execute(query, {"key": self._key}).scalar():
                connection.rollback()
                time.sleep(_POLL_S)
            connection.commit()
        except BaseException:
            connection.close()
            engine.dispose()
            raise
        return connection
