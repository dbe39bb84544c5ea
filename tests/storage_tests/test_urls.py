"""URL parsing and password masking: pure, no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import StorageError, StorageKind, mask_url, parse_storage_url
from storage.urls import ACCEPTED_FORMS, error_message, sanitise, url_password


@pytest.mark.parametrize(
    ("url", "kind", "normalised", "path"),
    [
        ("sqlite:///hpo.db", StorageKind.SQLITE, "sqlite:///hpo.db", Path("hpo.db")),
        ("sqlite:////srv/a.db", StorageKind.SQLITE, "sqlite:////srv/a.db", Path("/srv/a.db")),
        (
            "sqlite:///r/a.db?timeout=9",
            StorageKind.SQLITE,
            "sqlite:///r/a.db?timeout=9",
            Path("r/a.db"),
        ),
        ("sqlite:///:memory:", StorageKind.SQLITE, "sqlite:///:memory:", None),
        ("journal:///runs/a.log", StorageKind.JOURNAL, "journal:///runs/a.log", Path("runs/a.log")),
        ("journal:////nfs/a.log", StorageKind.JOURNAL, "journal:////nfs/a.log", Path("/nfs/a.log")),
        # A bare postgresql:// would mean psycopg 3 to SQLAlchemy 2.1; the project ships psycopg2.
        ("postgresql://u:p@h/db", StorageKind.POSTGRESQL, "postgresql+psycopg2://u:p@h/db", None),
        (
            "postgresql+psycopg2://u@h:6543/db",
            StorageKind.POSTGRESQL,
            "postgresql+psycopg2://u@h:6543/db",
            None,
        ),
    ],
)
def test_accepted_forms(url: str, kind: StorageKind, normalised: str, path: Path | None) -> None:
    target = parse_storage_url(url)
    assert (target.kind, target.url, target.path) == (kind, normalised, path)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "hpo.db",
        "sqlite://",
        "sqlite:///",
        "journal:///",
        "postgres://u:hunter2@h/db",
        "postgresql+psycopg://u:hunter2@h/db",
        "mysql://u:hunter2@h/db",
        " sqlite:///hpo.db",
    ],
)
def test_rejected_forms_list_the_accepted_ones_on_one_line(url: str) -> None:
    with pytest.raises(StorageError) as caught:
        parse_storage_url(url)
    message = str(caught.value)
    assert ACCEPTED_FORMS in message
    assert "\n" not in message
    assert "hunter2" not in message


def test_malformed_postgres_url_is_a_storage_error_without_the_password() -> None:
    with pytest.raises(StorageError, match="malformed storage URL") as caught:
        parse_storage_url("postgresql://u:hunter2@h:port/db")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:hunter2@h/db", "postgresql://u:***@h/db"),
        ("postgresql+psycopg2://u:hunter2@h:5432/db", "postgresql+psycopg2://u:***@h:5432/db"),
        # An unescaped '@' in the password: everything up to the last '@' goes.
        ("postgresql://u:hun@ter2@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:hunter2@h/db?password=hunter2", "postgresql://u:***@h/db?password=***"),
        ("host=h user=u password=hunter2 dbname=db", "host=h user=u password=*** dbname=db"),
        (
            "a postgresql://u:x@h/a and mysql://v:y@k/b",
            "a postgresql://u:***@h/a and mysql://v:***@k/b",
        ),
        # A space in the password, in a URL alone and inside a message.
        ("postgresql://u:my secret@h/db", "postgresql://u:***@h/db"),
        ("failed: postgresql://u:my secret@h/db refused", "failed: postgresql://u:***@h/db refused"),
        # The user name itself is in doubt: the whole userinfo goes.
        ("postgresql://me@corp:hunter2@h/db", "postgresql://***@h/db"),
        ("postgresql://u@h/db?password=my secret&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
        ("PGPASSWORD=hunter2 psql", "PGPASSWORD=*** psql"),
        ("password='hun ter\\'2' host=h", "password=*** host=h"),
        # Nothing to hide.
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:///runs/a@b.db", "sqlite:///runs/a@b.db"),
        ("journal:///runs/u:p@x.log", "journal:///runs/u:p@x.log"),
        ("sqlite:///hpo.db", "sqlite:///hpo.db"),
        ("journal:///runs/a.log", "journal:///runs/a.log"),
    ],
)
def test_mask_url(text: str, masked: str) -> None:
    assert mask_url(text) == masked


def test_url_password() -> None:
    assert url_password("postgresql://u:hun%40ter2@h/db") == "hun%40ter2"
    assert url_password("postgresql://u@h/db") is None
    assert url_password("sqlite:///hpo.db") is None


@pytest.mark.parametrize(
    ("url", "password"),
    [
        # The userinfo runs to the last '@'; the password from its first ':'.
        ("postgresql://u:se@cret99@h/db", "se@cret99"),
        ("postgresql://u:pa:ss@h/db", "pa:ss"),
        ("postgresql://u:my secret@h/db", "my secret"),
        ("postgresql://u:@h/db", None),
        ("postgresql://u@h/db?password=my%20pw&sslmode=require", "my%20pw"),
        ("sqlite:///runs/a:b@c.db", None),
    ],
)
def test_url_password_comes_from_the_parsed_userinfo(url: str, password: str | None) -> None:
    assert url_password(url) == password


def test_sanitise_folds_lines_and_scrubs_the_password_in_both_spellings() -> None:
    url = "postgresql://u:hun%40ter2@h/db"
    text = 'FATAL: bad "hun@ter2"\n\tand hun%40ter2 again'
    assert sanitise(text, url) == 'FATAL: bad "***" and *** again'


def test_sanitise_scrubs_a_percent_encoded_space_in_both_spellings() -> None:
    url = "postgresql://u:my%20sekret@h/db"
    assert sanitise("bad my sekret and my%20sekret", url) == "bad *** and ***"


def test_error_message_scrubs_what_the_driver_made_of_an_unencoded_at() -> None:
    # The reported leak: SQLAlchemy ends the password at the first '@' and the driver names the
    # rest as the host.
    url = "postgresql://postgres:se@cret99@127.0.0.1/db"
    error = OSError('could not translate host name "cret99@127.0.0.1" to address')
    message = error_message("cannot open storage", url, error)
    assert message == (
        "cannot open storage 'postgresql://postgres:***@127.0.0.1/db': "
        'could not translate host name "***@127.0.0.1" to address'
    )


def test_error_message_keeps_the_driver_reason_only() -> None:
    class Wrapped(Exception):
        orig = OSError("connection refused\nIs the server running?")

    message = error_message("cannot open storage", "postgresql://u:hunter2@h/db", Wrapped("noise"))
    assert message == ("cannot open storage 'postgresql://u:***@h/db': connection refused Is the server running?")


def test_storage_url_repr_masks_the_password() -> None:
    target = parse_storage_url("postgresql://u:hunter2@h/db")
    assert "hunter2" not in repr(target)
    assert "hunter2" not in str(target)
    assert "postgresql+psycopg2://u:***@h/db" in repr(target)


# Distinctive passwords, so that none of their 3-character pieces occurs in a host, a scheme or
# the wording of a message by chance.
AMBIGUOUS_PASSWORDS = ["se@cret99", "Zq@w7@@Kv", "my sekret Zq9", "Kx/7Qv9", "Wv?7#Kq", "Tb\tQ7xw\nZ"]
PLAIN_PASSWORDS = ["pa:ss:Wq7x", "{Br4ce}Kx", "se%40cretQv", "qu'ot\"eZx8", "secret", "password"]


def _assert_hidden(password: str, text: str) -> None:
    pieces = {password[start : start + 3] for start in range(max(len(password) - 2, 1))}
    shown = sorted(piece for piece in pieces if piece in text)
    assert not shown, f"{shown} of password {password!r} show in {text!r}"


@pytest.mark.parametrize("password", AMBIGUOUS_PASSWORDS + PLAIN_PASSWORDS)
def test_mask_url_hides_every_piece_of_any_password(password: str) -> None:
    url = f"postgresql://postgres:{password}@127.0.0.1:5432/db"
    assert mask_url(url) == "postgresql://postgres:***@127.0.0.1:5432/db"
    message = mask_url(f"cannot open {url}: refused\ntry later")
    assert message == "cannot open postgresql://postgres:***@127.0.0.1:5432/db: refused\ntry later"
    _assert_hidden(password, mask_url(url))
    _assert_hidden(password, message)


@pytest.mark.parametrize("password", AMBIGUOUS_PASSWORDS + PLAIN_PASSWORDS)
@pytest.mark.parametrize("scheme", ["postgres", "mysql"])
def test_unsupported_url_message_hides_every_piece_of_any_password(scheme: str, password: str) -> None:
    with pytest.raises(StorageError, match="unsupported storage URL") as caught:
        parse_storage_url(f"{scheme}://postgres:{password}@127.0.0.1/db")
    assert f"'{scheme}://postgres:***@127.0.0.1/db'" in str(caught.value)
    _assert_hidden(password, str(caught.value))


@pytest.mark.parametrize("password", AMBIGUOUS_PASSWORDS)
@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg2"])
def test_ambiguous_postgres_url_is_refused_without_any_piece_of_the_password(scheme: str, password: str) -> None:
    with pytest.raises(StorageError) as caught:
        parse_storage_url(f"{scheme}://postgres:{password}@127.0.0.1/db")
    message = str(caught.value)
    assert message.startswith(f"ambiguous storage URL '{scheme}://***@127.0.0.1/db': percent-encode")
    assert "'@' as %40, a space as %20, '/' as %2F" in message
    assert "\n" not in message
    _assert_hidden(password, message)


def test_reported_unencoded_at_is_refused_before_any_driver_sees_it() -> None:
    with pytest.raises(StorageError) as caught:
        parse_storage_url("postgresql://postgres:se@cret99@127.0.0.1/db")
    assert str(caught.value) == (
        "ambiguous storage URL 'postgresql://***@127.0.0.1/db': percent-encode the user name or password "
        "('@' as %40, a space as %20, '/' as %2F, '?' as %3F, '#' as %23)"
    )


def test_ambiguous_user_name_is_refused_and_its_encoded_form_accepted() -> None:
    with pytest.raises(StorageError, match="ambiguous storage URL 'postgresql://\\*\\*\\*@h/db'") as caught:
        parse_storage_url("postgresql://me@corp:Zq7wKv@h/db")
    _assert_hidden("Zq7wKv", str(caught.value))
    assert parse_storage_url("postgresql://me%40corp:Zq7wKv@h/db").kind is StorageKind.POSTGRESQL


@pytest.mark.parametrize("password", PLAIN_PASSWORDS)
def test_plain_password_parses_and_stays_hidden(password: str) -> None:
    target = parse_storage_url(f"postgresql://postgres:{password}@127.0.0.1:5432/db")
    assert target.kind is StorageKind.POSTGRESQL
    _assert_hidden(password, repr(target))
    with pytest.raises(StorageError, match="malformed storage URL") as caught:
        parse_storage_url(f"postgresql://postgres:{password}@127.0.0.1:port/db")
    _assert_hidden(password, str(caught.value))


def test_percent_encoded_password_is_accepted_decoded_by_sqlalchemy_and_masked() -> None:
    from sqlalchemy.engine import make_url

    url = "postgresql://postgres:se%40cret@127.0.0.1:5432/db"
    target = parse_storage_url(url)
    assert target.url == "postgresql+psycopg2://postgres:se%40cret@127.0.0.1:5432/db"
    parsed = make_url(target.url)
    assert (parsed.username, parsed.password, parsed.host, parsed.port) == ("postgres", "se@cret", "127.0.0.1", 5432)
    assert mask_url(url) == "postgresql://postgres:***@127.0.0.1:5432/db"
    assert url_password(url) == "se%40cret"
    text = 'FATAL: password authentication failed: "se@cret" (se%40cret)'
    assert sanitise(text, url) == 'FATAL: password authentication failed: "***" (***)'


def test_masking_a_message_twice_changes_nothing() -> None:
    # Error handlers mask whatever they print; a message masked at its source must survive it.
    with pytest.raises(StorageError) as caught:
        parse_storage_url("postgresql://postgres:se@cret99@127.0.0.1/db")
    message = str(caught.value)
    assert mask_url(message) == message
    assert "('@' as %40" in message
