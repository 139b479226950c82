"""File names: extensions and the node names files give (voxweb/io/naming.py)."""

from __future__ import annotations

import pytest

from voxweb.io.naming import FILETYPE_BY_EXTENSION, file_extension, node_name_from, stem


@pytest.mark.parametrize(
    ("name", "ext"),
    [
        ("head.seg.nrrd", ".seg.nrrd"),
        ("Brain.NII.GZ", ".nii.gz"),
        ("points.mrk.json", ".mrk.json"),
        ("/a/b.c/volume.nhdr", ".nhdr"),
        ("archive.tar.gz", ".gz"),
        ("README", ""),
    ],
)
def test_extensions_are_multi_part_and_lower_case(name, ext):
    assert file_extension(name) == ext


def test_node_names_drop_the_whole_extension():
    assert node_name_from("/data/MRHead.nrrd", "Volume") == "MRHead"
    assert node_name_from("Tumor.seg.nrrd", "Segmentation") == "Tumor"
    assert node_name_from("brain.nii.gz", "Volume") == "brain"
    assert node_name_from("F.mrk.json", "F") == "F"
    assert node_name_from(b"\x00raw bytes", "Volume") == "Volume"  # an upload has no name
    assert node_name_from("/data/.nrrd", "Volume") == "Volume"  # nothing left: the default
    assert stem("brain.nii.gz") == "brain" and stem(".nrrd") == ".nrrd"


def test_every_loadable_extension_is_known_to_the_extension_table():
    for ext in FILETYPE_BY_EXTENSION:
        assert file_extension("x" + ext) == ext
