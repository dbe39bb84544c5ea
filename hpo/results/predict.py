"""Trained models out of a study, and lung masks from them on new X-rays.

`export_best_model` copies the Keras file the objective uploaded for the best trial (a model is
uploaded whenever a trial beats every earlier one, so the best trial has one unless it ran
without an artifact store). `predict_files` runs such a model on DICOM, PNG or JPEG files with
the training pipeline's own reading and preprocessing (`objectives.data`), and writes a binary
mask and an overlay at each input's original size.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console

from objectives.data import Skipped

if TYPE_CHECKING:
    import keras
    import optuna

__all__ = [
    "INPUT_SUFFIXES",
    "ExportedModel",
    "Prediction",
    "PredictionReport",
    "collect_inputs",
    "export_best_model",
    "load_model",
    "overlay",
    "predict_files",
    "read_scan",
]

INPUT_SUFFIXES = (".dcm", ".png", ".jpg", ".jpeg")
MODEL_ATTRIBUTE = "model_artifact_id"
_OUTPUT_SUFFIXES = ("_mask", "_overlay")  # our own outputs, never inputs when a folder is walked


@dataclass(frozen=True)
class ExportedModel:
    """Which trial's model was written where."""

    study: str
    trial: int
    dice: float | None
    path: Path


def _score(trial: optuna.trial.FrozenTrial) -> float:
    return trial.value if trial.value is not None else float("-inf")


def _model_trial(study: optuna.Study, trial_number: int | None) -> optuna.trial.FrozenTrial:
    """The trial whose model to export: the one asked for, or the best completed one."""
    from optuna.trial import TrialState

    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if trial_number is not None:
        chosen = next((trial for trial in completed if trial.number == trial_number), None)
        if chosen is None:
            raise KeyError(f"study {study.study_name!r} has no completed trial {trial_number}")
    else:
        if not completed:
            raise ValueError(f"study {study.study_name!r} has no completed trial, so no model to export")
        chosen = max(completed, key=_score)  # the first of equals: later ties upload no model
    if MODEL_ATTRIBUTE in chosen.user_attrs:
        return chosen
    which = "trial" if trial_number is not None else "the best trial"
    message = f"{which} #{chosen.number} (DICE {_score(chosen):.4f}) has no saved model"
    with_model = [trial for trial in completed if MODEL_ATTRIBUTE in trial.user_attrs]
    if with_model:
        other = max(with_model, key=_score)
        message += (
            f"; trial #{other.number} (DICE {_score(other):.4f}) has one: "
            f"hpo model export {study.study_name} --trial {other.number}"
        )
    else:
        message += "; no trial of this study has one (did its workers run without an artifact folder?)"
    raise ValueError(message)


def export_best_model(
    storage_url: str,
    study_name: str,
    artifact_dir: Path,
    out: Path,
    trial_number: int | None = None,
    overwrite: bool = False,
) -> ExportedModel:
    """Writes the trained Keras model of the study's best trial (or of ``trial_number``) to ``out``.

    Args:
        storage_url: Optuna storage URL of the study.
        study_name: the study's name.
        artifact_dir: the folder its workers uploaded artifacts to.
        out: a ``.keras`` file; its folder is created.
        trial_number: export this completed trial's model instead of the best one's.
        overwrite: replace ``out`` if it exists.
    """
    from optuna.artifacts import download_artifact
    from optuna.artifacts.exceptions import ArtifactNotFound

    from hpo.results.records import read_study
    from storage import open_artifact_store

    if out.suffix != ".keras":
        raise ValueError(f"the model file must end in .keras (Keras reads nothing else), but got {str(out)!r}")
    if out.exists() and not overwrite:
        raise ValueError(f"{str(out)!r} already exists; pass --force to replace it")
    study = read_study(storage_url, study_name)
    trial = _model_trial(study, trial_number)
    if not artifact_dir.is_dir():
        raise ValueError(f"no artifact folder at {str(artifact_dir)!r}; point --artifacts at the study's")
    store = open_artifact_store(artifact_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}-", suffix=".keras")
    os.close(handle)
    os.unlink(partial)  # download_artifact refuses to write over an existing file
    try:
        download_artifact(artifact_store=store, file_path=partial, artifact_id=trial.user_attrs[MODEL_ATTRIBUTE])
        os.replace(partial, out)
    except ArtifactNotFound:
        raise ValueError(
            f"trial #{trial.number}'s model {trial.user_attrs[MODEL_ATTRIBUTE]} is not in {str(artifact_dir)!r}; "
            "point --artifacts at the folder the study's workers used"
        ) from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return ExportedModel(study_name, trial.number, trial.value, out)


def load_model(path: Path) -> keras.Model:
    """Loads a saved model for inference (no optimizer or training losses needed)."""
    from objectives.keras_setup import import_keras

    if not path.is_file():
        raise ValueError(f"no model file at {str(path)!r}")
    if path.suffix != ".keras":
        raise ValueError(f"expected a .keras model file, e.g. from `hpo model export`, but got {str(path)!r}")
    keras = import_keras()
    return keras.models.load_model(path, compile=False)


def _input_size(model: keras.Model) -> int:
    shape = model.input_shape
    if not (isinstance(shape, tuple) and len(shape) == 4 and shape[1] == shape[2] and shape[1] and shape[3] == 1):
        raise ValueError(f"expected a model taking square one-channel images (None, s, s, 1), but got {shape!r}")
    return int(shape[1])


def read_scan(path: Path) -> np.ndarray:
    """A file's pixels as 2-D gray values, decoded exactly as the training data loaders do.

    DICOM goes through ``dicom_to_float`` (rescale, MONOCHROME1); PNG and JPEG through the folder
    source's reader (colour to luminance, 16-bit kept).
    """
    from objectives.data.readers import read_dicom, read_gray

    pixels = read_dicom(path) if path.suffix.lower() == ".dcm" else read_gray(path)
    if pixels.ndim != 2:
        raise ValueError(f"expected a grayscale image, but got shape {pixels.shape!r}")
    return pixels


def collect_inputs(paths: Sequence[Path], exclude: Path | None = None) -> tuple[list[Path], list[Skipped]]:
    """Expands folders (recursively) into image files; names what cannot be used and why.

    Args:
        paths: files and folders as given on the command line.
        exclude: a folder whose files are never inputs (the output folder).
    """
    found: list[Path] = []
    skipped: list[Skipped] = []
    excluded = exclude.resolve() if exclude is not None else None
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if not file.is_file() or file.name.startswith(".") or file.suffix.lower() not in INPUT_SUFFIXES:
                    continue
                if excluded is not None and file.resolve().is_relative_to(excluded):
                    continue
                if file.stem.endswith(_OUTPUT_SUFFIXES):
                    continue
                found.append(file)
        elif not path.exists():
            skipped.append(Skipped(str(path), "no such file or folder"))
        elif path.suffix.lower() not in INPUT_SUFFIXES:
            skipped.append(Skipped(str(path), f"not one of {', '.join(INPUT_SUFFIXES)}"))
        else:
            found.append(path)
    unique: list[Path] = []
    by_stem: dict[str, Path] = {}
    for path in found:
        if path.stem in by_stem:
            if by_stem[path.stem].resolve() != path.resolve():
                skipped.append(Skipped(str(path), f"its outputs would overwrite those of {str(by_stem[path.stem])!r}"))
            continue
        by_stem[path.stem] = path
        unique.append(path)
    return unique, skipped


def overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """An RGB ``uint8`` picture of a 2-D image with the mask's pixels tinted red.

    Args:
        image: 2-D gray values in any range (scaled to the full range for display).
        mask: 2-D {0, 1} mask of the same shape.
    """
    from objectives.data.preprocess import normalize
    from objectives.figures import PREDICTION_COLOUR, overlay_mask

    if image.shape != mask.shape:
        raise ValueError(f"image and mask differ in shape: {image.shape!r} vs {mask.shape!r}")
    return overlay_mask(normalize(image), mask.astype(bool), PREDICTION_COLOUR)


@dataclass(frozen=True)
class Prediction:
    """The outputs written for one input."""

    source: Path
    mask: Path
    overlay: Path
    size: tuple[int, int]  # (height, width) of the input and of its mask
    lung_fraction: float  # share of the image's pixels predicted as lung


@dataclass(frozen=True)
class PredictionReport:
    written: tuple[Prediction, ...]
    skipped: tuple[Skipped, ...]


@contextmanager
def _progress(console: Console | None, total: int) -> Iterator[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("predicting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
    )
    with progress:
        task = progress.add_task("predicting", total=total)
        yield lambda: progress.advance(task)


def predict_files(
    model_path: Path,
    inputs: Sequence[Path],
    out_dir: Path,
    threshold: float = 0.5,
    console: Console | None = None,
) -> PredictionReport:
    """Writes ``<stem>_mask.png`` (0/255) and ``<stem>_overlay.png`` for each input, at its size.

    An input that cannot be read or predicted is skipped with its reason; the rest go on.

    Args:
        model_path: a ``.keras`` file, e.g. from `export_best_model`.
        inputs: image files (see `collect_inputs`).
        out_dir: folder for the outputs; created.
        threshold: probabilities at or above it count as lung.
        console: shows a progress bar over the files there; ``None`` shows none.
    """
    from PIL import Image

    from objectives.data.preprocess import prepare_image, restore_mask

    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], but got {threshold!r}")
    model = load_model(model_path)
    size = _input_size(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Prediction] = []
    skipped: list[Skipped] = []
    with _progress(console, len(inputs)) as advance:
        for path in inputs:
            try:
                image = read_scan(path)
                batch = prepare_image(image, size)[None, ..., None]
                probabilities = np.asarray(model.predict_on_batch(batch))[0]
                mask = restore_mask(probabilities, (image.shape[0], image.shape[1]), threshold)
                mask_path, overlay_path = out_dir / f"{path.stem}_mask.png", out_dir / f"{path.stem}_overlay.png"
                Image.fromarray(mask * np.uint8(255)).save(mask_path)
                Image.fromarray(overlay(image, mask)).save(overlay_path)
            except Exception as error:  # pydicom and Pillow raise many types for damaged files
                skipped.append(Skipped(str(path), f"{type(error).__name__}: {error}"))
            else:
                size_hw = (int(image.shape[0]), int(image.shape[1]))
                written.append(Prediction(path, mask_path, overlay_path, size_hw, float(mask.mean())))
            advance()
    return PredictionReport(tuple(written), tuple(skipped))
