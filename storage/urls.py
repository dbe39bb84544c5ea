"""Storage URL handling that never leaks a password.

The accepted forms mirror SQLAlchemy's: three slashes then a path relative to the working
directory, four slashes for an absolute path (``sqlite:////srv/hpo.db``), and the same for
``journal:///``, the one scheme of ours.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from storage.errors import StorageError

__all__ = [
    "ACCEPTED_FORMS",
    "StorageKind",
    "StorageUrl",
    "error_message",
    "mask_url",
    "parse_storage_url",
    "sanitise",
    "url_password",
]

ACCEPTED_FORMS = (
    "sqlite:///FILE, postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE (or postgresql+psycopg2://...), journal:///FILE"
)

# The password runs to the last '@' of the token: an unescaped '@' in a password must not leave
# its tail in view. Masking too much of a malformed URL is harmless; too little is not.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<password>\S*)(?P<tail>@)")
# libpq key=value strings and ?password= query parameters.
_KEY_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<password>'[^']*'|\"[^\"]*\"|[^\s&;,'\"]+)", re.IGNORECASE)

_SQLITE = "sqlite:///"
_JOURNAL = "journal:///"
_POSTGRES_PREFIXES = ("postgresql://", "postgresql+psycopg2://")
# SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3, which the project does not install.
_POSTGRES_DRIVER = "postgresql+psycopg2://"
_IN_MEMORY = ":memory:"


class StorageKind(enum.StrEnum):
    """Which Optuna storage a URL names."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"
    JOURNAL = "journal"


@dataclass(frozen=True, repr=False)
class StorageUrl:
    """A checked storage URL; its repr masks the password so it is safe to log."""

    kind: StorageKind
    # What SQLAlchemy gets for SQLite and PostgreSQL; the journal URL as given otherwise.
    url: str
    # The database or journal file; None for PostgreSQL and an in-memory SQLite database.
    path: Path | None

    def __repr__(self) -> str:
        masked = mask_url(self.url)
        return f"StorageUrl(kind={self.kind.value!r}, url={masked!r}, path={self.path!r})"


def mask_url(url: str) -> str:
    """Replaces every password in ``url`` (or in any text holding URLs) with ``***``."""
    text = _URL_PASSWORD.sub(lambda match: f"{match['head']}***{match['tail']}", url)
    return _KEY_PASSWORD.sub(lambda match: f"{match['head']}***", text)


def url_password(url: str) -> str | None:
    """The password written in ``url`` (still percent-encoded), or None when it has none."""
    match = _URL_PASSWORD.search(url) or _KEY_PASSWORD.search(url)
    if match is None or not match["password"]:
        return None
    return match["password"].strip("'\"")


def sanitise(text: str, url: str) -> str:
    """``text`` folded onto one line, with the password of ``url`` masked wherever it shows.

    Drivers may echo a password outside a URL (a DSN, a quoted value), so the password itself
    is scrubbed as well as anything that looks like a URL's or a key's password.

    Args:
        text: An error message, possibly several lines long.
        url: The storage URL the message is about.
    """
    line = " ".join(text.split())
    password = url_password(url)
    if password:
        for secret in sorted({password, unquote(password)}, key=len, reverse=True):
            line = line.replace(secret, "***")
    return mask_url(line)


def error_message(what: str, url: str, error: BaseException) -> str:
    """One line for a ``StorageError``: what failed, the masked URL and the driver's reason.

    SQLAlchemy wraps the driver's error and appends the statement and a link; the driver's own
    text (``orig``) is the useful part.

    Args:
        what: The failed action, e.g. ``"cannot open storage"``.
        url: The storage URL involved.
        error: What the driver, SQLAlchemy or Optuna raised.
    """
    cause = getattr(error, "orig", None) or error
    reason = sanitise(str(cause), url) or type(cause).__name__
    return f"{what} {mask_url(url)!r}: {reason}"


def parse_storage_url(url: str) -> StorageUrl:
    """Checks ``url`` against the accepted forms before anything touches a database.

    Args:
        url: A storage URL such as ``sqlite:///hpo.db``.

    Raises:
        StorageError: ``url`` has none of the accepted forms; the message lists them.
    """
    if url.startswith(_SQLITE):
        name = url.removeprefix(_SQLITE).partition("?")[0]
        if name:
            path = None if name == _IN_MEMORY else Path(name)
            return StorageUrl(StorageKind.SQLITE, url, path)
    elif url.startswith(_JOURNAL):
        name = url.removeprefix(_JOURNAL)
        if name:
            return StorageUrl(StorageKind.JOURNAL, url, Path(name))
    elif url.startswith(_POSTGRES_PREFIXES):
        normalised = _POSTGRES_DRIVER + url.partition("://")[2]
        _check_sqlalchemy_syntax(normalised)
        return StorageUrl(StorageKind.POSTGRESQL, normalised, None)
    raise StorageError(f"unsupported storage URL {mask_url(url)!r}: use {ACCEPTED_FORMS}")


def _check_sqlalchemy_syntax(url: str) -> None:
    from sqlalchemy.engine import make_url

    try:
        make_url(url)
    except Exception as error:
        raise StorageError(error_message("malformed storage URL", url, error)) from None
