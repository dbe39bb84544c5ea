"""MD.ai sources: a local export (``mdai-export:PATH``) or a project download (``mdai:ID``).

This is the only module that imports ``mdai``, and only inside functions, so ``hpo --help`` and
the other sources never pay for it (it pulls in pandas, OpenCV and matplotlib). Finding an
export on disk lives in `objectives.data.mdai_export`, the label and annotation rules in
`objectives.data.mdai_annotations`; neither imports mdai.

What mdai does and what this module adds:

- ``mdai.preprocess.Project`` parses the export, ``Project.set_labels_dict`` selects the labels
  and ``Dataset.prepare`` ties annotations to DICOM files; ``mdai.visualize.load_mask``
  rasterises freeform, polygon and bounding-box annotations. Its prints are sent to stderr so
  ``--format json`` keeps stdout clean.
- Pixels are decoded here with pydicom (`dicom_to_float`), because mdai's loaders either drop
  RescaleSlope/Intercept and MONOCHROME1 (``visualize.load_dicom_image``), truncate the slope
  to an integer (``transforms.apply_slope_intercept``), or fail with an unrelated error on
  undecodable pixel data; a file that pydicom cannot decode is skipped and reported.
- Annotations that `annotation_problem` refuses, and annotations whose labelId no label group
  defines, are skipped and reported before mdai sees them; ``mask``-mode annotations are
  filled by `fill_mask_annotation` rather than by mdai.

All of an image's annotations of the chosen labels (`choose_labels`) are merged into one mask.
Images with none are reported and left out, or kept with an empty mask when
``keep_unannotated`` is set. `native_pairs` states these rules once; `load_export` letterboxes
its pairs and `objectives.data.native.load_native` keeps the ones asked for at their own size.

The access token is read from ``MDAI_TOKEN`` only, handed straight to ``mdai.Client`` and never
stored, logged or put into an error message.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from objectives.data.dataset import Dataset, DataSourceError, Skipped
from objectives.data.mdai_annotations import (
    MDAI_DRAWN_MODES,
    annotation_problem,
    choose_labels,
    describe_annotation,
    fill_mask_annotation,
)
from objectives.data.mdai_export import ExportPaths, export_fingerprint, find_export
from objectives.data.pairs import NativePair, Walk, prepare_pairs
from objectives.data.readers import read_dicom

__all__ = [
    "DEFAULT_MDAI_DOMAIN",
    "TOKEN_ENV_VAR",
    "Downloader",
    "ExportPaths",
    "download_project",
    "export_fingerprint",
    "find_export",
    "load_export",
    "native_pairs",
    "token_from_env",
    "validate_project_id",
]

DEFAULT_MDAI_DOMAIN = "public.md.ai"
TOKEN_ENV_VAR = "MDAI_TOKEN"
_PROJECT_ID = re.compile(r"^[A-Za-z0-9_-]+$")

Downloader = Callable[[str, str, str, Path], Path]
"""``(project_id, domain, token, dest) -> annotations JSON path``; the only network step."""


def _import_mdai() -> ModuleType:
    """Imports mdai and its visualize module quietly.

    mdai 0.16 imports ``pydicom.pixel_data_handlers``, which pydicom 3 deprecates; the warning
    is about mdai's code, not ours, and would otherwise be printed on every load.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import mdai
        import mdai.visualize  # noqa: F401 - binds mdai.visualize
    return mdai


def validate_project_id(project_id: str) -> str:
    """Checks an MD.ai project id, which also names a download folder."""
    if not _PROJECT_ID.match(project_id):
        raise DataSourceError(f"an MD.ai project id is letters, digits, '-' and '_', but got {project_id!r}")
    return project_id


def token_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The MD.ai access token from ``MDAI_TOKEN``; raises, with how to set it, when missing."""
    token = (os.environ if environ is None else environ).get(TOKEN_ENV_VAR, "").strip()
    if not token:
        raise DataSourceError(
            f"mdai:PROJECT_ID needs an MD.ai access token in the {TOKEN_ENV_VAR} environment "
            "variable: create one in MD.ai under Settings > User Access Tokens, then run "
            f"`export {TOKEN_ENV_VAR}=<token>` (or use mdai-export:PATH with a downloaded export)"
        )
    return token


def download_project(project_id: str, domain: str, token: str, dest: Path) -> Path:
    """Downloads a project's annotations and images with ``mdai.Client``; the only network call.

    mdai reuses files already in ``dest`` when the server's export has not changed.

    Args:
        project_id: the MD.ai project id, e.g. ``"LxR6zdR2"``.
        domain: the MD.ai host, e.g. ``"public.md.ai"``.
        token: the user's access token; it is only passed to ``mdai.Client``.
        dest: download folder, created when missing.

    Returns:
        The path of the downloaded annotations JSON file.
    """
    mdai = _import_mdai()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            client = mdai.Client(domain=domain, access_token=token)
            project = client.project(project_id, path=str(dest))
    except Exception as error:  # requests, mdai and OS errors alike
        detail = str(error).replace(token, "***")
        raise DataSourceError(f"could not download MD.ai project {project_id!r} from {domain}: {detail}") from None
    if project is None or not project.annotations_fp or not project.images_dir:
        raise DataSourceError(
            f"MD.ai did not export project {project_id!r} from {domain}: check the project id, "
            f"the domain and that the token in {TOKEN_ENV_VAR} can open the project"
        )
    return Path(project.annotations_fp)


def _silenced() -> contextlib.redirect_stdout[io.StringIO]:
    """Swallows what mdai prints while it parses and draws (label lists, one "Number of
    annotations" line per image): the user sees lung-hpo's own summary of the data instead."""
    return contextlib.redirect_stdout(io.StringIO())


def _rasterise(
    mdai: ModuleType,
    dataset: Any,
    image_id: str,
    annotations: list[dict[str, Any]],
    shape: tuple[int, int],
) -> np.ndarray:
    """One image's chosen annotations of one mdai dataset as a single boolean mask."""
    mask = np.zeros(shape, dtype=bool)
    drawn: list[dict[str, Any]] = []
    filled: list[dict[str, Any]] = []
    for annotation in annotations:
        mode = dataset.label_id_to_class_annotation_mode(annotation["labelId"])
        (drawn if mode in MDAI_DRAWN_MODES else filled).append(annotation)
    if drawn:
        # load_mask reads an image's annotations from the dataset; give it a view holding
        # only the ones it can draw.
        view = copy.copy(dataset)
        view.image_ids = [image_id]
        view.imgs_anns_dict = {image_id: drawn}
        with _silenced():
            layers, _ = mdai.visualize.load_mask(image_id, view)
        if layers.shape[:2] != shape:
            raise ValueError(f"mdai drew a {layers.shape[:2]} mask for a {shape} image")
        mask |= layers.any(axis=-1)
    for annotation in filled:
        mask |= fill_mask_annotation(annotation["data"], shape)
    return mask


_Annotation = dict[str, Any]
_ImageAnnotations = dict[str, list[tuple[Any, list[_Annotation]]]]  # image path -> per dataset


def _open_project(paths: ExportPaths, label_ids: tuple[str, ...]) -> tuple[Any, dict, list[str]]:
    """Parses the export with mdai and selects the lung labels on it."""
    mdai = _import_mdai()
    try:
        with _silenced():
            project = mdai.preprocess.Project(annotations_fp=str(paths.annotations), images_dir=str(paths.images_dir))
        labels = {
            str(label["id"]): label for group in project.get_label_groups() for label in group.get_data()["labels"]
        }
        chosen = choose_labels(labels, label_ids)
        project.set_labels_dict({label_id: index + 1 for index, label_id in enumerate(chosen)})
    except (KeyError, TypeError) as error:
        raise DataSourceError(
            f"{str(paths.annotations)!r} is not a usable MD.ai export: missing field {error}"
        ) from None
    return project, labels, chosen


def _usable_annotations(
    project: Any, labels: dict[str, Any], chosen: list[str], skipped: list[Skipped]
) -> tuple[set[str], _ImageAnnotations]:
    """All DICOM paths of the export, and the usable chosen annotations of each image.

    Faulty annotations are reported in ``skipped`` and removed before mdai ties annotations
    to images, so that mdai never sees them.
    """
    all_images: set[str] = set()
    annotated: _ImageAnnotations = {}
    for dataset in project.get_datasets():
        all_images.update(dataset.all_image_ids)
        usable = []
        for annotation in dataset.all_annotations:
            label_id = str(annotation.get("labelId"))
            if label_id not in labels:
                reason = f"label id {label_id!r} is not defined in any label group; ignored"
                skipped.append(Skipped(describe_annotation(annotation), reason))
            elif label_id in chosen:
                problem = annotation_problem(annotation, labels[label_id].get("annotationMode"))
                if problem:
                    skipped.append(Skipped(describe_annotation(annotation), problem))
                else:
                    usable.append(annotation)
        dataset.all_annotations = usable
        if not usable:
            continue
        with _silenced():
            dataset.prepare()
        for image_id in dataset.get_image_ids():
            found = dataset.get_annotations_by_image_id(image_id)
            annotated.setdefault(image_id, []).append((dataset, found))
    return all_images, annotated


def _image_and_mask(
    image_id: str, annotations: list[tuple[Any, list[_Annotation]]]
) -> tuple[np.ndarray, np.ndarray] | str:
    """Decodes one DICOM and merges its annotations; a reason string when that fails."""
    try:
        pixels = read_dicom(image_id)
    except Exception as error:  # pydicom raises many types for damaged files
        return f"unreadable DICOM: {type(error).__name__}: {error}"
    mdai = _import_mdai()
    mask = np.zeros(pixels.shape, dtype=bool)
    try:
        for dataset, found in annotations:
            mask |= _rasterise(mdai, dataset, image_id, found, (pixels.shape[0], pixels.shape[1]))
    except Exception as error:  # mdai and OpenCV errors on odd geometry
        return f"could not rasterise its annotations: {type(error).__name__}: {error}"
    return pixels, mask


def native_pairs(paths: ExportPaths, label_ids: tuple[str, ...] = (), keep_unannotated: bool = False) -> Walk:
    """Walks a local MD.ai export: each image's pair at its own size, or why it was skipped.

    Annotations are checked, and their skips yielded, first; images then come sorted by path,
    so the n-th pair is image n of `load_export` (see `objectives.data.pairs`). Parsing the
    export is done up front; DICOM files are decoded lazily, one per item.

    Args:
        paths: from `find_export`.
        label_ids: MD.ai label ids to use as lung; empty means labels named like "lung".
        keep_unannotated: keep images without a chosen annotation, with an empty mask.
    """
    project, labels, chosen = _open_project(paths, label_ids)
    skipped: list[Skipped] = []
    all_images, annotated = _usable_annotations(project, labels, chosen, skipped)
    yield from skipped
    usable = unannotated = unreadable = 0
    for image_id in sorted(all_images | annotated.keys()):
        name = Path(image_id).relative_to(paths.images_dir).with_suffix("").as_posix()
        if image_id not in annotated and not keep_unannotated:
            unannotated += 1
            yield Skipped(name, f"no lung annotation (labels {', '.join(chosen)})")
            continue
        if not os.path.isfile(image_id):
            yield Skipped(name, "annotated, but its DICOM file is not in the export")
            continue
        pair = _image_and_mask(image_id, annotated.get(image_id, []))
        if isinstance(pair, str):
            unreadable += 1
            yield Skipped(name, pair)
            continue
        usable += 1
        yield NativePair(name, pair[0], pair[1].astype(np.uint8))
    if not usable:
        raise DataSourceError(
            f"no usable image in MD.ai export {str(paths.annotations)!r}: "
            f"{len(all_images)} DICOM files under {str(paths.images_dir)!r}, "
            f"{unreadable} unreadable, {unannotated} without an annotation "
            f"of the chosen labels ({', '.join(chosen)})"
        )


def load_export(
    paths: ExportPaths,
    image_size: int,
    label_ids: tuple[str, ...] = (),
    keep_unannotated: bool = False,
) -> Dataset:
    """Loads a local MD.ai export as a `Dataset` (see the module docstring for the rules).

    Args:
        paths: from `find_export`.
        image_size: side of the square images and masks.
        label_ids: MD.ai label ids to use as lung; empty means labels named like "lung".
        keep_unannotated: keep images without a chosen annotation, with an empty mask.
    """
    return prepare_pairs(native_pairs(paths, label_ids, keep_unannotated), image_size)
