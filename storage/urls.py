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

# Where a URL starts in free text. What follows its '://' up to the next URL is searched for
# credentials, so a password holding spaces or '@' is masked whole.
_SCHEME = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://")
# Characters a userinfo must hold percent-encoded, or parsers read it differently: SQLAlchemy
# ends the password at the first '@' and hands the rest to the driver as the host name.
_AMBIGUOUS = re.compile(r"[@/?#\s]+")
# ?password= in a URL's query: its value runs to the next parameter, spaces included.
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:pg)?password=)(?P<password>[^&#]*)", re.IGNORECASE)
# libpq key=value strings, PGPASSWORD= and ?password= met in free text; an unclosed quote masks
# the rest of the text.
_KEY_PASSWORD = re.compile(
    r"(?P<head>\b(?:pg)?password\s*=\s*)(?P<password>'(?:\\.|[^'\\])*'?|\"(?:\\.|[^\"\\])*\"?|[^\s&]+)",
    re.IGNORECASE,
)

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
    """Replaces every password in ``url`` (or in any text holding URLs) with ``***``.

    A URL's userinfo runs from its '://' to its last '@' and its password from the first ':' of
    the userinfo, so spaces and '@' in a password are masked with it. When the user name itself
    is in doubt (it holds '@', '/', '?', '#' or whitespace) the whole userinfo goes.

    Args:
        url: A URL, or text such as an error message that may hold several.
    """
    text = _mask_whole_url(url) if _SCHEME.match(url) else url
    text = _mask_embedded_urls(text)
    return _KEY_PASSWORD.sub(lambda match: f"{match['head']}***", text)


def url_password(url: str) -> str | None:
    """The password written in ``url`` (still percent-encoded), or None when it has none.

    Args:
        url: A URL with the password in its userinfo or in a ``password=`` parameter.
    """
    scheme = _SCHEME.search(url)
    userinfo = None if scheme is None else _split_userinfo(url[scheme.end() :])[0]
    if userinfo is not None and ":" in userinfo:
        return userinfo.partition(":")[2] or None
    match = _QUERY_PASSWORD.search(url) or _KEY_PASSWORD.search(url)
    if match is None:
        return None
    return match["password"].strip("'\"") or None


def sanitise(text: str, url: str) -> str:
    """``text`` folded onto one line, with the password of ``url`` masked wherever it shows.

    Drivers may echo a password outside a URL (a DSN, a quoted value), so the password itself
    is scrubbed, percent-encoded and decoded, as well as anything that looks like a URL's or a
    key's password.

    Args:
        text: An error message, possibly several lines long.
        url: The storage URL the message is about.
    """
    line = " ".join(text.split())
    password = url_password(url)
    if password:
        for secret in _spellings(password):
            line = line.replace(secret, "***")
    return mask_url(line)


def _spellings(password: str) -> list[str]:
    """The forms of ``password`` a message may show, longest first so none is left half done."""
    spellings = {password, unquote(password)}
    # An unencoded '@' splits a password for the driver: 'se@cret9' shows up as host 'cret9@...'.
    # Pieces under three characters would scrub stray letters of the message.
    spellings.update(piece for piece in _AMBIGUOUS.split(password) if len(piece) >= 3)
    return sorted(spellings, key=len, reverse=True)


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
        _refuse_ambiguous_userinfo(url)
        normalised = _POSTGRES_DRIVER + url.partition("://")[2]
        _check_sqlalchemy_syntax(normalised)
        return StorageUrl(StorageKind.POSTGRESQL, normalised, None)
    raise StorageError(f"unsupported storage URL {mask_url(url)!r}: use {ACCEPTED_FORMS}")


def _split_userinfo(after_scheme: str) -> tuple[str | None, str]:
    """The userinfo (None when there is none) and what follows its '@', given the text after '://'."""
    # A third slash means no authority at all: a file path may hold '@' (sqlite:///a@b.db).
    if after_scheme.startswith("/"):
        return None, after_scheme
    userinfo, at, rest = after_scheme.rpartition("@")
    return (userinfo, rest) if at else (None, after_scheme)


def _is_ambiguous(text: str) -> bool:
    return _AMBIGUOUS.search(text) is not None


def _mask_credentials(after_scheme: str) -> str:
    userinfo, rest = _split_userinfo(after_scheme)
    if userinfo is None:
        return after_scheme
    user, colon, _ = userinfo.partition(":")
    if _is_ambiguous(user):
        return f"***@{rest}"
    return f"{user}:***@{rest}" if colon else after_scheme


def _mask_whole_url(url: str) -> str:
    scheme, _, after_scheme = url.partition("://")
    masked = _QUERY_PASSWORD.sub(lambda match: f"{match['head']}***", _mask_credentials(after_scheme))
    return f"{scheme}://{masked}"


def _mask_embedded_urls(text: str) -> str:
    # Each URL's credentials are looked for up to where the next URL starts.
    starts = list(_SCHEME.finditer(text))
    if not starts:
        return text
    ends = [match.start() for match in starts[1:]] + [len(text)]
    pieces = [text[: starts[0].start()]]
    for match, end in zip(starts, ends, strict=True):
        # A quoted URL ends at its closing quote: what a message says after it is not userinfo.
        url_end = end
        quote = text[match.start() - 1] if match.start() > 0 else ""
        if quote in ("'", '"'):
            closing = text.find(quote, match.end(), end)
            url_end = closing if closing != -1 else end
        pieces.append(match[0] + _mask_credentials(text[match.end() : url_end]) + text[url_end:end])
    return "".join(pieces)


def _refuse_ambiguous_userinfo(url: str) -> None:
    scheme, _, after_scheme = url.partition("://")
    userinfo, rest = _split_userinfo(after_scheme)
    if userinfo is not None and _is_ambiguous(userinfo):
        masked = f"{scheme}://***@{rest}"
        raise StorageError(
            f"ambiguous storage URL {masked!r}: percent-encode the user name or password "
            "('@' as %40, a space as %20, '/' as %2F, '?' as %3F, '#' as %23)"
        )


def _check_sqlalchemy_syntax(url: str) -> None:
    from sqlalchemy.engine import make_url

    try:
        make_url(url)
    except Exception as error:
        raise StorageError(error_message("malformed storage URL", url, error)) from None
