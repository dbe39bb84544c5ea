"""optuna-dashboard over a study storage, wired to its artifact folder.

With the artifact store attached, each trial's page in the dashboard shows the prediction figure
(``predictions.png``) and lists the saved model the objective uploaded.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage import mask_url, open_artifact_store

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "dashboard_app", "dashboard_url", "is_loopback", "serve_dashboard"]

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


def serve_dashboard(storage_url: str, artifact_dir: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Runs optuna-dashboard until interrupted (Ctrl-C).

    Args:
        storage_url: Optuna storage URL.
        artifact_dir: the study's artifact folder.
        host: address to bind; the default serves this machine only.
        port: TCP port.

    Raises:
        RuntimeError: the address cannot be bound (port taken, unknown host).
    """
    import optuna_dashboard

    from storage import open_storage

    storage = open_storage(storage_url, must_exist=True)
    store = open_artifact_store(artifact_dir)
    try:
        optuna_dashboard.run_server(storage, host=host, port=port, artifact_store=store)
    except OSError as error:
        reason = error.strerror or str(error)
        raise RuntimeError(f"cannot serve the dashboard on {host}:{port}: {reason}") from None
