"""Finding a local MD.ai export on disk and fingerprinting it; mdai is not involved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from objectives.data import DataSourceError
from objectives.data.mdai_export import export_fingerprint, find_export

_IMAGE = np.zeros((16, 16), dtype=np.uint8)
_ROOT = Path(__file__).resolve().parents[3]


def test_find_export_accepts_the_folder_or_the_json_file(export_builder, polygon):
    uids = export_builder.add_image(1, _IMAGE)
    export_builder.annotate(uids, export_builder.LUNG, {"vertices": polygon(1, 1, 9, 9)})
    annotations = export_builder.write()
    from_folder = find_export(export_builder.root)
    assert from_folder == find_export(annotations)
    assert from_folder.annotations == annotations.resolve()
    assert from_folder.images_dir == export_builder.images_dir.resolve()


def test_find_export_explains_missing_pieces(tmp_path, export_builder):
    with pytest.raises(DataSourceError, match="does not exist"):
        find_export(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataSourceError, match="expected one MD.ai annotations JSON file"):
        find_export(empty)
    export_builder.root.mkdir(parents=True)
    export_builder.studies.append("1.2.3")
    annotations = export_builder.write()
    with pytest.raises(DataSourceError, match="no DICOM folder found"):
        find_export(annotations)
    annotations.write_text(json.dumps({"labelGroups": []}))
    with pytest.raises(DataSourceError, match="no 'datasets' list"):
        find_export(annotations)


def test_fingerprint_follows_annotations_and_images(export_builder, polygon):
    uids = export_builder.add_image(1, _IMAGE)
    export_builder.annotate(uids, export_builder.LUNG, {"vertices": polygon(1, 1, 9, 9)})
    export_builder.write()
    paths = find_export(export_builder.root)
    first = export_fingerprint(paths)
    assert export_fingerprint(paths) == first
    export_builder.annotate(uids, export_builder.LUNG, {"vertices": polygon(2, 2, 9, 9)})
    export_builder.write()
    second = export_fingerprint(paths)
    assert second != first
    stat = export_builder.image_path(uids).stat()
    os.utime(export_builder.image_path(uids), ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert export_fingerprint(paths) != second


def test_finding_an_export_and_the_annotation_rules_do_not_import_mdai():
    # objectives.data.mdai is the only module that imports mdai, and only when loading.
    code = (
        "import sys\n"
        "import objectives.data, objectives.data.mdai, objectives.data.mdai_export, objectives.data.mdai_annotations\n"
        "print('mdai' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=_ROOT, check=True)
    assert result.stdout.strip() == "False", result.stderr
