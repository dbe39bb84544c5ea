"""Test-wide settings: Keras on TensorFlow unless told otherwise, nothing written to $HOME."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SCRATCH = Path(tempfile.mkdtemp(prefix="lung-hpo-tests-"))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ["KERAS_HOME"] = str(_SCRATCH / "keras")
os.environ["HPO_CACHE_DIR"] = str(_SCRATCH / "cache")
os.environ["MPLBACKEND"] = "Agg"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
for variable in ("HPO_STORAGE", "HPO_ARTIFACTS", "MDAI_TOKEN"):
    os.environ.pop(variable, None)


# Trust authentication on 127.0.0.1, as in CI; HPO_TEST_POSTGRES_URL points elsewhere.
_SERVER_URL = os.environ.get("HPO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a PostgreSQL server that may create databases; skips (or fails in CI)."""
    from storage import StorageError
    from tests.postgres import check_server

    try:
        check_server(_SERVER_URL, connect_timeout=3)
    except StorageError as error:
        if os.environ.get("HPO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"HPO_REQUIRE_POSTGRES=1 but {error}", pytrace=False)
        pytest.skip(f"no PostgreSQL server: {error}")
    return _SERVER_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The URL of a fresh database, dropped after the test."""
    from tests.postgres import scratch_database

    with scratch_database(postgres_server, prefix="hpo_test") as url:
        yield url
