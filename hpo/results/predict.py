"""Lung masks on new X-rays from a trained model.

`predict_files` runs a model exported by `hpo model export` on DICOM, PNG or JPEG files with the
training pipeline's own reading and preprocessing (`objectives.data`), and writes a binary mask
and an overlay at each input's original size.
"""

from __future__ import annotations

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

__all__ = [
    "INPUT_SUFFIXES",
    "Prediction",
    "PredictionReport",
    "collect_inputs",
    "input_size",
    "load_model",
    "overlay",
    "predict_files",
    "predict_paths",
    "read_scan",
]

INPUT_SUFFIXES = (".dcm", ".png", ".jpg", ".jpeg")
_OUTPUT_SUFFIXES = ("_mask", "_overlay")  # our own outputs, never inputs when a folder is walked


def load_model(path: Path) -> keras.Model:
    """Loads a saved model for inference (no optimizer or training losses needed)."""
    from objectives.keras_setup import import_keras

    if not path.is_file():
        raise ValueError(f"no model file at {str(path)!r}")
    if path.suffix != ".keras":
        raise ValueError(f"expected a .keras model file, e.g. from `hpo model export`, but got {str(path)!r}")
    keras = import_keras()
    return keras.models.load_model(path, compile=False)


def input_size(model: keras.Model) -> int:
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
    skipped: tuple[Skipped, ...]  # inputs not found, not images, or that failed, with the reason
    found: int = 0  # image files found among the inputs


def predict_paths(
    model_path: Path, paths: Sequence[Path], out_dir: Path, threshold: float = 0.5, console: Console | None = None
) -> PredictionReport:
    """`predict_files` over the image files among ``paths`` (files or folders; see `collect_inputs`)."""
    files, unusable = collect_inputs(paths, exclude=out_dir)
    if not files:
        return PredictionReport((), tuple(unusable), 0)
    report = predict_files(model_path, files, out_dir, threshold, console)
    return PredictionReport(report.written, (*unusable, *report.skipped), len(files))


@contextmanager
def _progress(console: Console | None, total: int) -> Iterator[Any]:
    from hpo.study.progress import progress_bar

    with progress_bar(console) as progress:
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
        model_path: a ``.keras`` file, e.g. from `hpo.results.export.export_model`.
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
    size = input_size(model)
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
