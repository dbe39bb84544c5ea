"""Reading one image file as a 2-D array: the step every source and `hpo predict` share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from objectives.data.preprocess import dicom_to_float

__all__ = ["read_dicom", "read_gray"]


def read_gray(path: Path) -> np.ndarray:
    """A 2-D array of the file's gray values; colour files are converted to luminance."""
    with Image.open(path) as picture:
        picture.load()
        if picture.mode not in ("L", "I", "I;16", "F"):
            picture = picture.convert("L")
        return np.asarray(picture)


def read_dicom(path: str | Path) -> np.ndarray:
    """A DICOM file's pixels as float, with bit depth, rescale and MONOCHROME1 handled."""
    import pydicom

    return dicom_to_float(pydicom.dcmread(str(path)))
