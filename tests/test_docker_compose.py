"""docker-compose.yml cannot run here (no Docker engine); check it parses and matches the CLI."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import yaml
from typer.testing import CliRunner

from hpo.cli import app

ROOT = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _resolve(argument: str) -> str:
    """Replaces ${NAME:-default} with its default, as compose does when NAME is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", argument)


def test_services_and_volumes() -> None:
    assert set(SERVICES) == {"postgres", "create-study", "worker", "cpu-worker", "dashboard"}
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert SERVICES["dashboard"]["ports"] == ["127.0.0.1:8080:8080"]
    assert SERVICES["cpu-worker"]["profiles"] == ["cpu"]  # started only when asked for
    for worker in ("worker", "cpu-worker"):
        # SIGTERM re-queues the running trial; compose must leave the worker time to do so.
        assert SERVICES[worker]["init"] is True
        assert int(SERVICES[worker]["stop_grace_period"].removesuffix("s")) > 30


def test_the_gpu_worker_holds_every_gpu_and_gives_each_process_one() -> None:
    worker = SERVICES["worker"]
    # One container per machine reserves all its GPUs (a count of 1 maps every replica to GPU 0) ...
    (reservation,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert reservation["driver"] == "nvidia" and reservation["count"] == "all"
    assert reservation["capabilities"] == ["gpu"]
    assert "replicas" not in worker["deploy"]
    # ... and its supervisor starts processes on each of them, each seeing only its own.
    command = [_resolve(part) for part in worker["command"]]
    assert command[command.index("--gpus") + 1] == "all"
    assert int(command[command.index("--trials-per-gpu") + 1]) >= 1
    # It runs the GPU image, built with the GPU extra and a GPU backend.
    assert worker["image"] == "lung-hpo-gpu:latest"
    assert worker["build"]["dockerfile"] == "Dockerfile.gpu"
    dockerfile = (ROOT / worker["build"]["dockerfile"]).read_text()
    assert "pip install --no-cache-dir '.[gpu]'" in dockerfile
    assert re.search(r"^ENV .*KERAS_BACKEND=jax", dockerfile, flags=re.MULTILINE)
    assert _resolve(worker["environment"]["KERAS_BACKEND"]) == "jax"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(requirement.startswith("jax[cuda12]") for requirement in extras["gpu"])
    # The other services stay on the CPU image.
    for service in ("create-study", "cpu-worker", "dashboard"):
        assert SERVICES[service]["image"] == "lung-hpo:latest"


def test_no_credentials_in_the_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text
    assert not re.search(r"^\s*\w*PASSWORD:\s*[^$\s]", text, flags=re.MULTILINE)
    for service in ("create-study", "worker", "cpu-worker", "dashboard"):
        assert "${POSTGRES_PASSWORD" in SERVICES[service]["environment"]["HPO_STORAGE"]


def test_commands_match_the_cli() -> None:
    runner = CliRunner()
    for service in ("create-study", "worker", "cpu-worker"):
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
