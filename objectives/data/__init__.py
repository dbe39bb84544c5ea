"""Datasets behind one ``--data SOURCE`` string: the phantom, image folders and MD.ai exports.

Every source yields a `Dataset` of square, per-image normalised float32 images in [0, 1] and
binary masks at the study's image size, plus the list of inputs it skipped and why. File
sources are decoded once and then read from an on-disk cache (`cache`); `preprocess` holds the
pixel and geometry rules and `restore_mask`, their inverse for predictions. `load_native` gives
chosen images and their masks at the images' own size, for scores at native resolution.

Importing this package does not import mdai; only `objectives.data.mdai` does, when used.
"""

from __future__ import annotations

from objectives.data.cache import default_cache_dir
from objectives.data.dataset import Dataset, DataSourceError, Skipped
from objectives.data.native import NativeItem, load_native
from objectives.data.preprocess import Letterbox, letterbox, restore_mask
from objectives.data.report import DatasetReport, FractionStats, inspect_dataset, write_preview
from objectives.data.sources import DataSource, load_dataset, parse_source
from objectives.data.split import Split, make_split

__all__ = [
    "DataSource",
    "DataSourceError",
    "Dataset",
    "DatasetReport",
    "FractionStats",
    "Letterbox",
    "NativeItem",
    "Skipped",
    "Split",
    "default_cache_dir",
    "inspect_dataset",
    "letterbox",
    "load_dataset",
    "load_native",
    "make_split",
    "parse_source",
    "restore_mask",
    "write_preview",
]
