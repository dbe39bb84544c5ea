"""After a whole run with a database password and an MD.ai token set, neither is anywhere to be found."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlalchemy
from typer.testing import CliRunner

from hpo.cli import app
from tests.tiny import write_tiny_space

pytestmark = pytest.mark.postgres

PASSWORD = "Pw-Sup3rS3cret-77"  # the server trusts 127.0.0.1, so any password logs in
TOKEN = "mdai-tok-9f8e7d6c5b4a"
SECRETS = (PASSWORD, TOKEN)


def _with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")


def _database_text(url: str) -> str:
    """Every row of every table of the study database, as text."""
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                sqlalchemy.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
            return "\n".join(
                str(row)
                for table in list(tables)
                for row in connection.execute(sqlalchemy.text(f'SELECT * FROM "{table}"'))
            )
    finally:
        engine.dispose()


@pytest.mark.slow
def test_no_secret_in_any_output_study_artifact_report_or_log(postgres_url: str, tmp_path: Path) -> None:
    url = _with_password(postgres_url)
    env = {"HPO_STORAGE": url, "MDAI_TOKEN": TOKEN, "HPO_ARTIFACTS": str(tmp_path / "artifacts")}
    runner = CliRunner(env=env)
    outputs: list[str] = []

    def run(*arguments: str) -> None:
        result = runner.invoke(app, list(arguments))
        assert result.exit_code == 0, result.output
        outputs.append(result.output)

    space = write_tiny_space(tmp_path)
    run(
        "study",
        "create",
        "secret",
        "--data",
        "synthetic:12",
        "--space",
        str(space),
        "--n-trials",
        "2",
        "--final-seeds",
        "1",
    )
    worker = subprocess.run(
        [sys.executable, "-m", "hpo", "worker", "secret", "--processes", "1"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    outputs += [worker.stdout, worker.stderr]
    run("study", "list")
    run("study", "show", "secret", "--format", "json")
    run("study", "best", "secret")
    run("study", "export", "secret", "--format", "csv", "--out", str(tmp_path / "out" / "trials.csv"))
    run("report", "secret", "--out", str(tmp_path / "out" / "report"))
    run("model", "export", "secret", "--out", str(tmp_path / "out" / "best.keras"))
    run("trial", "replay", "secret", "0", "--format", "json")
    # What the commands refuse must not leak either.
    refused = runner.invoke(app, ["study", "list", "--storage", url.replace("127.0.0.1:5432", "127.0.0.1:1")])
    assert refused.exit_code == 1
    outputs.append(refused.output)

    files = [
        path for folder in (tmp_path / "artifacts", tmp_path / "out") for path in folder.rglob("*") if path.is_file()
    ]
    assert any(path.suffix == ".keras" for path in files) and any(path.name == "report.html" for path in files)
    for secret in SECRETS:
        assert all(secret not in text for text in outputs), secret
        assert secret not in _database_text(postgres_url)
        for path in files:
            assert secret.encode() not in _contents(path), path


def _contents(path: Path) -> bytes:
    """A file's bytes, and its members' if it is an archive (a .keras model is a zip)."""
    if not zipfile.is_zipfile(path):
        return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        return b"".join(archive.read(member) for member in archive.namelist())
