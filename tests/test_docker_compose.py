"""docker-compose.yml cannot run here (no Docker engine); check it parses and matches the CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner

from hpo.cli import app

COMPOSE = yaml.safe_load((Path(__file__).parents[1] / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _resolve(argument: str) -> str:
    """Replaces ${NAME:-default} with its default, as compose does when NAME is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", argument)


def test_services_and_volumes() -> None:
    assert set(SERVICES) == {"postgres", "create-study", "worker", "dashboard"}
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert SERVICES["worker"]["deploy"]["resources"]["reservations"]["devices"][0]["count"] == 1
    assert SERVICES["dashboard"]["ports"] == ["127.0.0.1:8080:8080"]
    # SIGTERM re-queues the running trial; compose must leave the worker time to do so.
    assert SERVICES["worker"]["init"] is True
    assert int(SERVICES["worker"]["stop_grace_period"].removesuffix("s")) > 30


def test_no_credentials_in_the_file() -> None:
    text = (Path(__file__).parents[1] / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text
    assert not re.search(r"^\s*\w*PASSWORD:\s*[^$\s]", text, flags=re.MULTILINE)
    for service in ("create-study", "worker", "dashboard"):
        assert "${POSTGRES_PASSWORD" in SERVICES[service]["environment"]["HPO_STORAGE"]


def test_commands_match_the_cli() -> None:
    runner = CliRunner()
    for service in ("create-study", "worker"):
        command = [_resolve(part) for part in SERVICES[service]["command"]]
        assert command[0] == "hpo"
        # The CLI must accept every option the file passes: --help after them parses them all.
        result = runner.invoke(app, [*command[1:], "--help"])
        assert result.exit_code == 0, (service, result.output)
        options = [part for part in command if part.startswith("--")]
        for option in options:
            assert option in result.output, (service, option)
    dashboard = shlex.split(SERVICES["dashboard"]["command"][2])
    assert dashboard[0] == "optuna-dashboard" and "--artifact-dir" in dashboard


def test_environment_variables_are_the_clis() -> None:
    environment = SERVICES["worker"]["environment"]
    assert {"HPO_STORAGE", "HPO_ARTIFACTS", "KERAS_BACKEND"} <= set(environment)
    help_text = CliRunner().invoke(app, ["worker", "--help"]).output
    assert "HPO_STORAGE" in help_text
