"""Throwaway PostgreSQL databases for tests and benchmarks, so neither touches a shared one."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from storage import StorageError, StorageKind, mask_url, parse_storage_url
from storage.urls import error_message

if TYPE_CHECKING:
    import sqlalchemy

__all__ = ["check_server", "connection_counter", "execute", "scratch_database"]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
# Seconds libpq waits for a server that does not answer.
_CONNECT_TIMEOUT = 5


def check_server(server_url: str, *, connect_timeout: int = _CONNECT_TIMEOUT) -> None:
    """Logs in to the server at ``server_url`` and runs ``SELECT 1``, creating nothing.

    Args:
        server_url: A PostgreSQL URL.
        connect_timeout: Seconds to wait for a server that does not answer.

    Raises:
        StorageError: The URL is not a PostgreSQL URL or the server cannot be reached.
    """
    execute(server_url, "SELECT 1", connect_timeout=connect_timeout)


@contextmanager
def scratch_database(server_url: str, *, prefix: str = "hpo_scratch") -> Iterator[str]:
    """Creates a uniquely named database, yields its URL, and drops it on the way out.

    The drop uses ``WITH (FORCE)`` so workers a test killed, or connections still pooled, do
    not leave the database behind.

    Args:
        server_url: A PostgreSQL URL whose user may create databases; its database is only
            used to connect (``postgres`` will do).
        prefix: The start of the new database's name: lower-case letters, digits, ``_``.

    Raises:
        StorageError: The server cannot be reached or refuses to create the database.
    """
    if not _IDENTIFIER.fullmatch(prefix):
        raise ValueError(f"prefix must be a lower-case SQL identifier but got {prefix!r}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    execute(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server_url, name)
    finally:
        execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def connection_counter(server_url: str, database: str) -> Iterator[Callable[[], int]]:
    """Yields a function counting the server's connections to ``database``.

    The function keeps one connection of its own, not counted, so polling it often (a benchmark
    watching its workers) does not open a connection per call.

    Args:
        server_url: A PostgreSQL URL on the same server.
        database: The database whose connections to count.
    """
    import sqlalchemy

    engine = _engine(server_url, pooled=True)
    query = sqlalchemy.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()")

    def count() -> int:
        try:
            with engine.connect() as connection:
                return int(connection.execute(query, {"name": database}).scalar_one())
        except Exception as error:
            raise StorageError(error_message("PostgreSQL server", server_url, error)) from None

    try:
        yield count
    finally:
        engine.dispose()


def execute(
    server_url: str,
    statement: str,
    parameters: dict[str, object] | None = None,
    *,
    connect_timeout: int = _CONNECT_TIMEOUT,
) -> None:
    """Runs one SQL statement on the server at ``server_url`` outside any transaction (as ``ALTER DATABASE`` needs).

    Raises:
        StorageError: The server cannot be reached or refuses the statement.
    """
    import sqlalchemy

    engine = _engine(server_url, connect_timeout=connect_timeout)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(statement), parameters or {})
    except Exception as error:
        raise StorageError(error_message("PostgreSQL server", server_url, error)) from None
    finally:
        engine.dispose()


def _engine(server_url: str, *, pooled: bool = False, connect_timeout: int = _CONNECT_TIMEOUT) -> sqlalchemy.Engine:
    import sqlalchemy
    from sqlalchemy.pool import NullPool, QueuePool

    target = parse_storage_url(server_url)
    if target.kind is not StorageKind.POSTGRESQL:
        masked = mask_url(server_url)
        raise StorageError(f"expected a PostgreSQL URL but got {masked!r}")
    # CREATE and DROP DATABASE refuse to run inside a transaction.
    return sqlalchemy.create_engine(
        target.url,
        poolclass=QueuePool if pooled else NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": connect_timeout},
    )


def _with_database(server_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
