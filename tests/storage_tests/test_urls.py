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
        # Nothing to hide.
        ("postgresql://u@h/db", "postgresql://u@h/db"),
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


def test_sanitise_folds_lines_and_scrubs_the_password_in_both_spellings() -> None:
    url = "postgresql://u:hun%40ter2@h/db"
    text = 'FATAL: bad "hun@ter2"\n\tand hun%40ter2 again'
    assert sanitise(text, url) == 'FATAL: bad "***" and *** again'


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
