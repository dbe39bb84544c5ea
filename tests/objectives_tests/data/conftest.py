"""Builders for tiny on-disk sources: DICOM files in MD.ai's export layout, and PNG folders.

They are handed to tests as fixtures, since this folder is not an importable package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset as DicomDataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage

LUNG = "L_lung"  # freeform, named "Lung"
LUNG_BOX = "L_lungbox"  # bbox, named "Lung box"
LUNG_MASK = "L_lungmask"  # mask mode, named "Left LUNG (mask)"
NODULE = "L_nodule"  # polygon, not a lung label
LUNG_FINDING = "L_lungfinding"  # global (no area), named like lung but never chosen by default


def _label(label_id: str, name: str, mode: str | None, label_type: str = "local") -> dict:
    return {
        "id": label_id,
        "name": name,
        "annotationMode": mode,
        "type": label_type,
        "scope": "INSTANCE",
        "color": "#ff0000",
        "description": "",
        "radlexTagIds": [],
    }


LABELS = [
    _label(LUNG, "Lung", "freeform"),
    _label(LUNG_BOX, "Lung box", "bbox"),
    _label(LUNG_MASK, "Left LUNG (mask)", "mask"),
    _label(NODULE, "Nodule", "polygon"),
    _label(LUNG_FINDING, "Lung finding", None, "global"),
]


def write_dicom(
    path: Path,
    stored: np.ndarray,
    *,
    bits_stored: int | None = None,
    monochrome1: bool = False,
    slope: float | None = None,
    intercept: float | None = None,
    uids: tuple[str, str, str] = ("1.2", "1.2.3", "1.2.3.4"),
) -> Path:
    """Writes ``stored`` (uint8, uint16 or int16 words) as a single-frame DICOM file."""
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = uids[2]
    ds = DicomDataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = uids
    ds.Modality = "DX"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.BitsAllocated = stored.dtype.itemsize * 8
    ds.BitsStored = bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if stored.dtype.kind == "i" else 0
    if slope is not None:
        ds.RescaleSlope = slope
    if intercept is not None:
        ds.RescaleIntercept = intercept
    ds.PixelData = np.ascontiguousarray(stored).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return path


def square_polygon(top: int, left: int, bottom: int, right: int) -> list[list[float]]:
    return [[left, top], [right, top], [right, bottom], [left, bottom]]


@dataclass
class ExportBuilder:
    """An MD.ai export as mdai writes it: JSON beside ``<images>/<study>/<series>/<sop>.dcm``."""

    LUNG = LUNG
    LUNG_BOX = LUNG_BOX
    LUNG_MASK = LUNG_MASK
    NODULE = NODULE
    LUNG_FINDING = LUNG_FINDING

    root: Path
    annotations: list[dict[str, Any]] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)

    @property
    def images_dir(self) -> Path:
        return self.root / "mdai_public_project_x_images_dataset_D_1_2024"

    def add_image(self, index: int, stored: np.ndarray, **dicom: Any) -> tuple[str, str, str]:
        uids = (f"1.2.826.{index}", f"1.2.826.{index}.1", f"1.2.826.{index}.1.1")
        write_dicom(self.image_path(uids), stored, uids=uids, **dicom)
        self.studies.append(uids[0])
        return uids

    def image_path(self, uids: tuple[str, str, str]) -> Path:
        return self.images_dir / uids[0] / uids[1] / f"{uids[2]}.dcm"

    def annotate(self, uids: tuple[str, str, str], label_id: str, data: Any) -> None:
        self.annotations.append(
            {
                "id": f"A_{len(self.annotations):03d}",
                "StudyInstanceUID": uids[0],
                "SeriesInstanceUID": uids[1],
                "SOPInstanceUID": uids[2],
                "labelId": label_id,
                "data": data,
                "createdAt": "2024-01-01T00:00:00.000Z",
                "updatedAt": "2024-01-01T00:00:00.000Z",
            }
        )

    def write(self) -> Path:
        """Writes the annotations JSON and returns its path."""
        export = {
            "id": "P_x",
            "name": "lungs",
            "datasets": [
                {
                    "id": "D_1",
                    "name": "Dataset",
                    "studies": [
                        {"StudyInstanceUID": uid, "number": number + 1} for number, uid in enumerate(self.studies)
                    ],
                    "annotations": self.annotations,
                }
            ],
            "labelGroups": [{"id": "G_1", "name": "Default group", "labels": LABELS}],
        }
        path = self.root / "mdai_public_project_x_annotations_labelgroup_all_2024.json"
        path.write_text(json.dumps(export), encoding="utf-8")
        return path


@pytest.fixture
def export_builder(tmp_path: Path) -> ExportBuilder:
    return ExportBuilder(tmp_path / "export")


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def chest(height: int, width: int, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """An 8-bit image with a bright rectangle (top, left, bottom, right) and its 0/255 mask."""
    image = np.full((height, width), 40, dtype=np.uint8)
    mask = np.zeros((height, width), dtype=np.uint8)
    top, left, bottom, right = box
    image[top:bottom, left:right] = 220
    mask[top:bottom, left:right] = 255
    return image, mask


@pytest.fixture
def dicom_file():
    """`write_dicom`: writes one DICOM file."""
    return write_dicom


@pytest.fixture
def png_file():
    """`write_png`: writes one PNG (or JPEG, by suffix) file."""
    return write_png


@pytest.fixture
def chest_pair():
    """`chest`: an image with a bright rectangle and its mask."""
    return chest


@pytest.fixture
def polygon():
    """`square_polygon`: MD.ai vertices of a rectangle."""
    return square_polygon
