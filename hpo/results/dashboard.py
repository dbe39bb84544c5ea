"""optuna-dashboard over a study storage, wired to its artifact folder.

With the artifact store attached, each trial's page in the dashboard shows the prediction figure
(``predictions.png``) and lists the saved model the objective uploaded.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from storage import mask_url, open_artifact_store

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "dashboard_app",
    "dashboard_server",
    "dashboard_url",
    "is_loopback",
]

DEFAULT_HOST = "127.0.0.1"  # the dashboard can delete studies: only this machine by default
DEFAULT_PORT = 8080

WsgiApp = Callable[..., Any]


def dashboard_app(storage_url: str, artifact_dir: Path) -> WsgiApp:
    """The dashboard as a WSGI application, e.g. for gunicorn or for tests.

    Args:
        storage_url: Optuna storage URL (see `storage.open_storage`).
        artifact_dir: the study's artifact folder.
    """
    import optuna_dashboard

    from storage import open_storage

    return optuna_dashboard.wsgi(
        open_storage(storage_url, must_exist=True), artifact_store=open_artifact_store(artifact_dir)
    )


def dashboard_url(host: str, port: int, storage_url: str | None = None) -> str:
    """The address people open, with the storage named (password masked) if given."""
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/dashboard"
    return address if storage_url is None else f"{address} (storage {mask_url(storage_url)})"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _QuietHandler(WSGIRequestHandler):
    """Serves requests without writing an access-log line for each to the terminal."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def dashboard_server(storage_url: str, artifact_dir: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> Any:
    """The dashboard bound to ``host:port`` (port 0: any free one), ready for ``serve_forever()``.

    The stdlib's WSGI server, single-threaded like optuna-dashboard's own ``run_server``, but with
    no banner and no access log: the terminal keeps lung-hpo's one line.

    Raises:
        RuntimeError: the address cannot be bound (port taken, unknown host).
    """
    app = dashboard_app(storage_url, artifact_dir)

    class _Server(WSGIServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    try:
        return make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
    except OSError as error:
        reason = error.strerror or str(error)
        raise RuntimeError(f"cannot serve the dashboard on {host}:{port}: {reason}") from None
