"""Pixel preprocessing shared by every file-based source, and its inverse for predictions.

All functions here are pure: arrays (or an already-read DICOM header) in, arrays out.

Geometry: an ``h x w`` image is scaled so that its longer side becomes ``size`` (aspect ratio
kept), then the shorter side is padded with zeros on both sides. When the padding is odd, the
extra pixel goes to the bottom or right. Images and masks go through the same Pillow resampling
on the same grid (a triangle filter, which Pillow widens when it shrinks, so large X-rays are
averaged rather than aliased); masks are then thresholded at 0.5, which keeps them binary and
aligned with their image. `restore_mask` undoes the padding and the scaling, so a prediction made
at ``size`` can be compared with, or saved over, the original image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from pydicom.dataset import Dataset as DicomDataset

__all__ = [
    "Letterbox",
    "binarize_mask",
    "dicom_to_float",
    "letterbox",
    "normalize",
    "prepare_image",
    "prepare_mask",
    "restore_mask",
    "to_float",
]


@dataclass(frozen=True)
class Letterbox:
    """Where an ``original`` (height, width) image sits inside the ``size`` square."""

    original: tuple[int, int]  # (height, width) before resizing
    size: int  # side of the square output
    content: tuple[int, int]  # (height, width) of the scaled image inside the square
    offset: tuple[int, int]  # (top, left) padding in pixels

    def crop(self, square: np.ndarray) -> np.ndarray:
        """The part of a ``size x size`` array that holds the scaled image (padding removed)."""
        top, left = self.offset
        return square[top : top + self.content[0], left : left + self.content[1]]


def letterbox(original: tuple[int, int], size: int) -> Letterbox:
    """Computes the aspect-preserving fit of ``original`` (height, width) into a square.

    Args:
        original: height and width of the source image, both positive.
        size: side of the square output, positive.
    """
    height, width = original
    if height < 1 or width < 1:
        raise ValueError(f"image sides must be positive, but got {original!r}")
    if size < 1:
        raise ValueError(f"size must be positive, but got {size!r}")
    scale = size / max(height, width)
    content = (max(1, min(size, round(height * scale))), max(1, min(size, round(width * scale))))
    offset = ((size - content[0]) // 2, (size - content[1]) // 2)
    return Letterbox((height, width), size, content, offset)


def to_float(values: np.ndarray, *, monochrome1: bool = False) -> np.ndarray:
    """Modality values to float32 with bright meaning dense.

    MONOCHROME1 images store dense tissue as low values; they are mirrored within their own
    range so that every source shows bone bright, as the model expects.

    Args:
        values: 2-D pixel values in the modality's units (after the Modality LUT or rescale).
        monochrome1: whether PhotometricInterpretation is MONOCHROME1.
    """
    if values.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, but got shape {values.shape!r}")
    floats = values.astype(np.float64)
    if monochrome1:
        floats = floats.max() + floats.min() - floats
    return floats.astype(np.float32)


def dicom_to_float(ds: DicomDataset) -> np.ndarray:
    """Decodes a read DICOM dataset to a float32 2-D image (see `to_float`).

    pydicom's ``pixel_array`` already keeps only the BitsStored low bits (and sign-extends them
    for signed data), so garbage in the unused high bits never reaches the image. pydicom's
    ``apply_modality_lut`` then applies the Modality LUT sequence when there is one, otherwise
    RescaleSlope and RescaleIntercept when both are present, as the standard says.

    Args:
        ds: a dataset read with ``pydicom.dcmread``, holding pixel data.
    """
    from pydicom.pixels import apply_modality_lut

    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        raise ValueError(f"expected a single-frame image, but got {ds.NumberOfFrames!r} frames")
    pixels = ds.pixel_array
    if pixels.ndim == 3 and int(ds.get("SamplesPerPixel", 1)) == 3:
        pixels = pixels.astype(np.float64).mean(axis=-1)
    monochrome1 = str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1"
    return to_float(np.asarray(apply_modality_lut(pixels, ds)), monochrome1=monochrome1)


def normalize(image: np.ndarray) -> np.ndarray:
    """Min-max scales one image to [0, 1] as float32; a constant image becomes all zeros."""
    values = image.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def binarize_mask(mask: np.ndarray) -> np.ndarray:
    """A mask file's values to {0, 1} uint8.

    Masks stored as {0, 1} are kept; otherwise a pixel is lung when it is at least half the
    type's full scale (128 of 255), which also binarises anti-aliased mask edges.
    """
    values = np.asarray(mask)
    if values.ndim != 2:
        raise ValueError(f"expected a 2-D mask, but got shape {values.shape!r}")
    if values.dtype == bool or values.max(initial=0) <= 1:
        return (values > 0).astype(np.uint8)
    full_scale = np.iinfo(values.dtype).max if values.dtype.kind in "ui" else 255.0
    return (values >= full_scale / 2).astype(np.uint8)


def _resample(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resizes a 2-D float array to (height, width) with Pillow's triangle filter."""
    picture = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32))
    resized = picture.resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def _pad(content: np.ndarray, box: Letterbox) -> np.ndarray:
    square = np.zeros((box.size, box.size), dtype=content.dtype)
    top, left = box.offset
    square[top : top + box.content[0], left : left + box.content[1]] = content
    return square


def prepare_image(image: np.ndarray, size: int) -> np.ndarray:
    """A 2-D image of any size to a ``size x size`` float32 image in [0, 1], zero padded.

    The image is normalised after resizing and before padding, so the padding is black however
    the modality's values were offset (a CT-like intercept of -1024 would otherwise turn zero
    padding mid-grey).

    Args:
        image: 2-D pixel values.
        size: side of the square output.
    """
    box = letterbox((image.shape[0], image.shape[1]), size)
    content = normalize(_resample(image.astype(np.float32), box.content))
    return _pad(content, box)


def prepare_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """A 2-D binary mask to a ``size x size`` uint8 {0, 1} mask on the same grid as its image.

    Args:
        mask: 2-D mask, nonzero meaning lung, of the same shape as its image.
        size: side of the square output.
    """
    box = letterbox((mask.shape[0], mask.shape[1]), size)
    content = _resample((np.asarray(mask) > 0).astype(np.float32), box.content) >= 0.5
    return _pad(content.astype(np.uint8), box)


def restore_mask(prediction: np.ndarray, original: tuple[int, int], threshold: float = 0.5) -> np.ndarray:
    """Maps a square mask or probability map back onto the original image's pixels.

    Removes the letterbox padding, resizes to ``original`` on the same grid the forward
    mapping used, then thresholds, so ``restore_mask(prepare_mask(m, s), m.shape)`` gives
    back ``m`` up to resampling at its edges.

    Args:
        prediction: ``(s, s)`` or ``(s, s, 1)`` array of probabilities or {0, 1} values.
        original: (height, width) of the image the prediction belongs to.
        threshold: probabilities at or above it count as lung.
    """
    values = np.asarray(prediction, dtype=np.float32)
    if values.ndim == 3 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"expected a square (s, s) or (s, s, 1) array, but got {values.shape!r}")
    box = letterbox(original, values.shape[0])
    restored = _resample(box.crop(values), (box.original[0], box.original[1]))
    return (restored >= threshold).astype(np.uint8)
