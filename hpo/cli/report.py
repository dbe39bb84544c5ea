"""Commands that show a study to people: ``hpo report`` and ``hpo dashboard``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hpo.cli.common import (
    ArtifactsOption,
    NameArgument,
    StorageOption,
    clear_errors,
    console,
    error_console,
    print_warning,
    resolve_artifact_dir,
)
from hpo.results.dashboard import DEFAULT_HOST, DEFAULT_PORT
from storage import DEFAULT_STORAGE_URL

__all__ = ["dashboard", "report"]


def report(
    name: NameArgument,
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html, report.md and its PNGs.")],
    storage: StorageOption = DEFAULT_STORAGE_URL,
    artifacts: ArtifactsOption = None,
) -> None:
    """Write a study's report as HTML and Markdown.

    Setup, results per parameter value, optimisation plots and the best and worst predictions; the
    HTML is one file that opens offline.

    Example: [bold]hpo report lungs --out reports/lungs[/]
    """
    from hpo.report import report_study

    with clear_errors():
        written = report_study(storage, name, resolve_artifact_dir(storage, artifacts), out)
    for path in written:
        console.print(str(path))


def dashboard(
    storage: StorageOption = DEFAULT_STORAGE_URL,
    artifacts: ArtifactsOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 opens it to the network.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
) -> None:
    """Browse studies in optuna-dashboard, with each trial's prediction figure.

    Example: [bold]hpo dashboard --storage sqlite:///runs/lung.db --port 8081[/]
    """
    from hpo.results.dashboard import dashboard_server, dashboard_url, is_loopback

    artifact_dir = resolve_artifact_dir(storage, artifacts)
    if not artifact_dir.is_dir():
        error_console.print(f"No artifact folder at {artifact_dir}: trials will show no figures (see --artifacts).")
    if not is_loopback(host):
        print_warning(f"anyone who reaches {host}:{port} can read, edit and delete studies.")
    with clear_errors():
        server = dashboard_server(storage, artifact_dir, host=host, port=port)  # bound: the address is ours
    with server:
        console.print(f"optuna-dashboard at {dashboard_url(host, server.server_address[1], storage)}; Ctrl-C stops it.")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
