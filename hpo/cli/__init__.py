"""The ``hpo`` command line: the root app, and one module per command group.

A command parses its options, calls one library function and prints (`hpo.cli.render`). Heavy
modules (Keras, TensorFlow, mdai, Optuna's plotting) are imported inside the commands that use
them, so ``hpo --help`` answers at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import typer

from hpo.cli import model, report, run
from hpo.cli.data import data_app
from hpo.cli.study import study_app
from objectives.keras_setup import BACKENDS, DEFAULT_BACKEND

__all__ = ["app", "main"]

app = typer.Typer(
    name="hpo",
    help="Tune a lung-segmentation U-Net on chest X-rays with Optuna.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold database passwords
    rich_markup_mode="rich",
)
Backend = StrEnum("Backend", {name: name for name in BACKENDS})  # type: ignore[misc]


@app.callback()
def root(
    backend: Annotated[
        Backend | None,
        typer.Option("--backend", envvar="KERAS_BACKEND", help=f"Keras backend (default: {DEFAULT_BACKEND})."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Also show Optuna's own log (a line per study and trial event).")
    ] = False,
) -> None:
    """Tune a lung-segmentation U-Net on chest X-rays with Optuna.

    Start with [bold]hpo demo[/]: a small study on synthetic chest X-rays, stored in ./hpo.db.
    """
    import optuna

    from objectives.keras_setup import configure_backend

    configure_backend(backend.value if backend else None)
    # lung-hpo prints its own line per trial and keeps progress on stderr; Optuna's INFO lines
    # would repeat them and break through the live progress display.
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)


app.command("dashboard")(report.dashboard)
app.command("predict")(model.predict)
app.command("evaluate")(model.evaluate)
app.command("demo")(run.demo)
app.command("worker")(run.worker)
app.command("report")(report.report)
app.add_typer(study_app, name="study")
app.add_typer(run.trial_app, name="trial")
app.add_typer(data_app, name="data")
app.add_typer(model.model_app, name="model")


def main(argv: list[str] | None = None) -> Callable[..., Any] | None:
    """Console-script entry point."""
    return app(args=argv if argv is not None else sys.argv[1:], prog_name="hpo")
