"""A local MD.ai export on disk: where its annotations JSON and DICOM folder are, and its fingerprint.

Export layout. ``mdai.Client.project`` writes an annotations JSON file and, next to it, an
images folder laid out as ``<images_dir>/<StudyInstanceUID>/<SeriesInstanceUID>/
<SOPInstanceUID>.dcm``. ``PATH`` may be that JSON file or the folder holding it; in a folder,
the one ``*.json`` file is used (or the one whose name contains "annotations" when there are
several). The images folder is the folder, at most three levels below the JSON's folder, whose
subfolders are named after the export's studies; when several match (older downloads left
beside newer ones), the one holding the most of the export's studies wins, then the newest.

Nothing here imports ``mdai``: finding an export only reads its JSON and lists folders.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from objectives.data.cache import file_fingerprint
from objectives.data.dataset import DataSourceError

__all__ = ["ExportPaths", "export_fingerprint", "export_labels", "find_export"]

_SEARCH_DEPTH = 3  # levels below the JSON's folder searched for the images folder


@dataclass(frozen=True)
class ExportPaths:
    """The two halves of a local MD.ai export."""

    annotations: Path  # the exported annotations JSON file
    images_dir: Path  # holds <StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm


def find_export(path: Path) -> ExportPaths:
    """Finds the annotations file and the DICOM folder of a local export (module docstring).

    Args:
        path: the JSON file or the folder holding it.

    Raises:
        DataSourceError: ``path`` is missing, holds no single annotations file, is not an
            MD.ai export, or no folder beside it holds the export's studies.
    """
    if path.is_file():
        annotations = path
    elif path.is_dir():
        annotations = _find_annotations_file(path)
    else:
        raise DataSourceError(f"MD.ai export {str(path)!r} does not exist")
    studies = _study_uids(_read_json(annotations))
    images_dir = _find_images_dir(annotations.parent, studies) if studies else None
    if images_dir is None:
        raise DataSourceError(
            f"no DICOM folder found for {str(annotations)!r}: expected <images_dir>/"
            "<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm for the export's "
            f"{len(studies)} studies under {str(annotations.parent)!r}"
        )
    return ExportPaths(annotations.resolve(), images_dir.resolve())


def export_fingerprint(paths: ExportPaths) -> str:
    """Changes when the annotations change in any way or a DICOM file is added or rewritten."""
    digest = hashlib.sha256(paths.annotations.read_bytes())
    dicoms = list(paths.images_dir.rglob("*.dcm"))
    digest.update(file_fingerprint(paths.images_dir, dicoms).encode())
    return digest.hexdigest()


def export_labels(paths: ExportPaths) -> dict[str, dict[str, Any]]:
    """The export's labels by id (each the label's JSON record), from every label group."""
    groups = _read_json(paths.annotations).get("labelGroups") or []
    return {
        str(label["id"]): label
        for group in groups
        if isinstance(group, dict)
        for label in group.get("labels") or []
        if isinstance(label, dict) and "id" in label
    }


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataSourceError(f"cannot read MD.ai annotations {str(path)!r}: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), list):
        raise DataSourceError(f"{str(path)!r} is not an MD.ai annotations export: it has no 'datasets' list")
    return data


def _study_uids(data: dict[str, Any]) -> set[str]:
    uids: set[str] = set()
    for dataset in data["datasets"]:
        for record in [*dataset.get("studies", []), *dataset.get("annotations", [])]:
            if isinstance(record, dict) and record.get("StudyInstanceUID"):
                uids.add(str(record["StudyInstanceUID"]))
    return uids


def _find_annotations_file(folder: Path) -> Path:
    candidates = sorted(folder.glob("*.json"))
    if len(candidates) > 1:
        candidates = [path for path in candidates if "annotations" in path.name.lower()]
    if len(candidates) != 1:
        found = ", ".join(path.name for path in sorted(folder.glob("*.json"))) or "none"
        raise DataSourceError(
            f"expected one MD.ai annotations JSON file in {str(folder)!r}, but found: {found}; "
            "pass the file itself as mdai-export:FILE.json"
        )
    return candidates[0]


def _find_images_dir(root: Path, studies: set[str]) -> Path | None:
    best: tuple[int, float, str] | None = None
    for current, subdirs, _ in os.walk(root):
        depth = len(Path(current).relative_to(root).parts)
        hits = len(studies.intersection(subdirs))
        if hits:
            rank = (hits, Path(current).stat().st_mtime, current)
            best = rank if best is None or rank > best else best
        if depth >= _SEARCH_DEPTH:
            subdirs.clear()
    return None if best is None else Path(best[2])
