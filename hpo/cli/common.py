"""Options, consoles and error handling shared by every ``hpo`` command module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from hpo.cli.render import OutputFormat
from objectives.data.mdai import DEFAULT_MDAI_DOMAIN
from storage.artifacts import default_artifact_dir

__all__ = [
    "ArtifactsOption",
    "DEFAULT_MDAI_DOMAIN",
    "FinalSeedsOption",
    "FormatOption",
    "KeepUnannotatedOption",
    "LabelIdOption",
    "MdaiDomainOption",
    "NameArgument",
    "StorageOption",
    "resolve_artifact_dir",
    "clear_errors",
    "console",
    "error_console",
    "print_error",
    "print_warning",
]

# Markup off: names, paths, URLs and TOML text are printed as they are, brackets included. Style
# comes from `print_error` and `print_warning`, never from markup in the text.
# Soft wrap: a message is one line however narrow the terminal, so it can be read back and grepped.
console = Console(markup=False, highlight=False, soft_wrap=True)
error_console = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)


def print_error(message: str) -> None:
    """``error: MESSAGE`` on standard error, on one logical line, the word ``error`` in red."""
    error_console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)


def print_warning(message: str) -> None:
    """``warning: MESSAGE`` on standard error."""
    error_console.print(Text.assemble(("warning:", "yellow"), " ", message), soft_wrap=True)


FinalSeedsOption = Annotated[
    int,
    typer.Option(
        min=0,
        help="Once the study is over, retrain its best configuration with this many fresh seeds and score it on "
        "the locked test set: the study's final score. 0 leaves it to `hpo study finalize`.",
    ),
]
StorageOption = Annotated[
    str,
    typer.Option(
        "--storage",
        envvar="HPO_STORAGE",
        help="Optuna storage URL: sqlite:///FILE, postgresql://USER@HOST/DB or journal:///FILE.",
        show_envvar=True,
    ),
]
ArtifactsOption = Annotated[
    Path | None,
    typer.Option(
        "--artifacts",
        envvar="HPO_ARTIFACTS",
        help="Folder for trial figures and models (default: beside the SQLite file, or ./hpo-artifacts).",
    ),
]
NameArgument = Annotated[str, typer.Argument(help="Study name.", metavar="NAME", show_default=False)]
# How a data source is read: the same options wherever a command takes one (--data or SOURCE).
LabelIdOption = Annotated[
    list[str] | None,
    typer.Option(
        "--label-id", help="MD.ai label id to use as lung; repeat for several. Default: labels named like 'lung'."
    ),
]
KeepUnannotatedOption = Annotated[bool, typer.Option(help="MD.ai: keep images without a lung annotation, mask empty.")]
MdaiDomainOption = Annotated[str, typer.Option(envvar="MDAI_DOMAIN", help="MD.ai host for mdai: sources.")]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output for people or scripts.")]


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turns the errors a user can fix into one red line and exit code 1, never a traceback."""
    from objectives.data import DataSourceError
    from objectives.space import SearchSpaceError
    from storage import StorageError, mask_url

    try:
        yield
    except typer.Exit:
        raise
    except (
        StorageError,
        SearchSpaceError,
        DataSourceError,
        KeyError,
        ValueError,
        RuntimeError,
    ) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        print_error(mask_url(str(message)))
        raise typer.Exit(1) from None


def resolve_artifact_dir(storage_url: str, artifacts: Path | None) -> Path:
    """``--artifacts`` if given, else the folder that belongs to the storage."""
    return artifacts if artifacts is not None else default_artifact_dir(storage_url)
