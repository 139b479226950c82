"""The explicit VR little endian walker must give exactly what the general (pydicom) path gives.

``parse_instance`` reads most instances with ``voxweb.dicom.walk`` and falls back to pydicom's
element generator for the rest. The two are compared here on every test file pydicom and
pydicom-data ship, on crafted datasets (sequences of every length form, nested bulk data, a
UTF-8 character set) and on random datasets; the walker must either give up or agree.
"""

from __future__ import annotations

import base64
import glob
import io
import json
import os
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian

from tests.dicom.helpers import make_instance
from voxweb.dicom.parse import _file_meta, _general_layout, parse_instance
from voxweb.dicom.walk import PIXEL_TAGS, walk_explicit_le

THRESHOLD = 1024
_USED_POSITIONS = (*PIXEL_TAGS, 0x7FE00001)  # the positions parse_instance reads


def _test_files() -> list[str]:
    folders = [os.path.dirname(get_testdata_file("CT_small.dcm"))]
    try:
        import data_store  # pydicom-data

        folders.append(os.path.join(os.path.dirname(data_store.__file__), "data"))
    except ImportError:
        pass
    return sorted(p for folder in folders for p in glob.glob(os.path.join(folder, "*.dcm")))


def _both(data: bytes):
    """(walker layout or None, general layout) of Part-10 ``data``."""
    meta, start = _file_meta(data)
    ts = meta[0x00020010]
    return (
        walk_explicit_le(data, start, THRESHOLD, ts),
        _general_layout(data, start, False, True, ts, THRESHOLD, True),
    )


def _assert_same(walked, general) -> None:
    assert walked.model == general.model
    assert list(walked.model) == list(general.model)  # the same key order, hence the same JSON
    assert walked.bulk == general.bulk
    assert walked.bot == general.bot
    assert walked.fragments == general.fragments
    for tag in _USED_POSITIONS:
        assert walked.positions.get(tag) == general.positions.get(tag)


def _explicit_le_files() -> list[tuple[str, bytes]]:
    out = []
    for path in _test_files():
        data = Path(path).read_bytes()
        if len(data) < 132 or data[128:132] != b"DICM":
            continue
        try:
            meta, _ = _file_meta(data)
        except Exception:
            continue
        ts = meta.get(0x00020010, "")
        if ts in (ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian):
            continue
        out.append((os.path.basename(path), data))
    return out


def test_walker_agrees_with_pydicom_on_every_test_file():
    walked_files = 0
    files = _explicit_le_files()
    for name, data in files:
        try:
            general = _both(data)[1]
        except Exception:
            assert walk_explicit_le(data, _file_meta(data)[1], THRESHOLD, "x") is None, name
            continue
        walked = _both(data)[0]
        if walked is not None:
            walked_files += 1
            _assert_same(walked, general)
    # the walker must carry the common case, or the fast path silently stopped being used
    assert len(files) > 50
    assert walked_files >= len(files) * 2 // 3, (walked_files, len(files))


def _with(ds_edit, **attrs) -> bytes:
    """``make_instance`` bytes after ``ds_edit(ds)`` changed the dataset."""
    ds = pydicom.dcmread(io.BytesIO(make_instance(**attrs)))
    ds_edit(ds)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


_ICON = bytes(range(200)) * 20


def _item(n: int) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    item.ReferencedSOPInstanceUID = f"1.2.3.{n}"
    item.ReferencedFrameNumber = [1, 2, 3]
    return item


@pytest.mark.parametrize("undefined_sequence", [False, True])
@pytest.mark.parametrize("undefined_items", [False, True])
def test_sequences_in_every_length_form(undefined_sequence, undefined_items):
    def edit(ds):
        outer = _item(1)
        outer.IconImageSequence = Sequence([Dataset()])
        icon = outer.IconImageSequence[0]
        icon.Rows, icon.Columns, icon.BitsAllocated = 40, 50, 16
        icon.PixelData = _ICON  # nested bulk data
        ds.ReferencedImageSequence = Sequence([outer, _item(2)])
        ds.ProcedureCodeSequence = Sequence([])
        for seq in (ds.ReferencedImageSequence, outer.IconImageSequence):
            for item in seq:
                item.is_undefined_length_sequence_item = undefined_items
        ds["ReferencedImageSequence"].is_undefined_length = undefined_sequence
        outer["IconImageSequence"].is_undefined_length = undefined_sequence

    data = _with(edit)
    walked, general = _both(data)
    assert walked is not None
    nested = "00081140/1/00880200/1/7FE00010"
    if nested in general.bulk:
        _assert_same(walked, general)
    else:  # pydicom's offsets two items deep in a defined-length sequence are wrong
        icon = general.model["00081140"]["Value"][0]["00880200"]["Value"][0]
        assert icon["7FE00010"]["InlineBinary"] == base64.b64encode(_ICON).decode()
        assert undefined_sequence is False
    assert walked.model["00081140"]["Value"][0]["00880200"]["Value"][0]["7FE00010"] == {
        "vr": "OW",
        "BulkDataURI": f"bulkdata/{nested}",
    }
    offset, length = walked.bulk[nested]
    assert data[offset : offset + length] == _ICON


def test_utf8_names_multi_values_and_numbers():
    data = make_instance(
        PatientName="Müller^Zoë=ミュラー^ゾエ",
        ImageType=["ORIGINAL", "PRIMARY", "M"],
        PixelSpacing=["0.5", "0.75"],
        ImagePositionPatient=["-1.5e2", "3", "4.25"],
        EchoNumbers="2",
        StudyDescription="Kopf – Übersicht",
        ImageComments="line one\r\nline two",
        LargestImagePixelValue=4095,
        SliceThickness=1.25,
    )
    walked, general = _both(data)
    assert walked is not None
    _assert_same(walked, general)
    assert walked.model["00100010"]["Value"] == [
        {"Alphabetic": "Müller^Zoë", "Ideographic": "ミュラー^ゾエ"}
    ]


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda ds: setattr(ds, "FrameIncrementPointer", 0x00181063), id="AT"),
        pytest.param(lambda ds: ds.add_new(0x00191010, "UN", b"\x01\x02"), id="UN"),
        pytest.param(
            lambda ds: setattr(ds, "SpecificCharacterSet", ["", "ISO 2022 IR 87"]), id="ISO2022"
        ),
        pytest.param(lambda ds: setattr(ds, "PixelSpacing", ["0.5", ""]), id="empty-in-multi"),
    ],
)
def test_walker_gives_up_and_parse_instance_takes_the_general_path(edit):
    data = _with(edit)
    walked, general = _both(data)
    assert walked is None
    rec = parse_instance(data)
    assert json.loads(rec.json) == general.model


def test_out_of_order_tags_are_left_to_the_general_path():
    data = bytearray(make_instance(Modality="MR", Manufacturer="ACME"))
    # swap Modality (0008,0060) and Manufacturer (0008,0070): both CS/LO 2-byte-length elements
    meta, start = _file_meta(bytes(data))
    i = data.index(b"\x08\x00\x60\x00CS")
    j = data.index(b"\x08\x00\x70\x00LO")
    first, second = bytes(data[i:j]), bytes(data[j : j + 8 + data[j + 6]])
    data[i : j + len(second)] = second + first
    walked, general = _both(bytes(data))
    assert walked is None
    assert general.model["00080060"]["Value"] == ["MR"]
    assert general.model["00080070"]["Value"] == ["ACME"]


_TEXT = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x24F, blacklist_characters="\\"), max_size=12
)
_ATTRIBUTES = {
    "StudyDescription": _TEXT,
    "PatientName": st.lists(_TEXT, min_size=1, max_size=3).map("^".join),
    "ImageType": st.lists(st.sampled_from(["ORIGINAL", "DERIVED", "M", ""]), max_size=4),
    "PixelSpacing": st.lists(st.decimals(-1e4, 1e4, places=3).map(str), min_size=2, max_size=2),
    "EchoNumbers": st.integers(-1000, 1000).map(str),
    "AcquisitionMatrix": st.lists(st.integers(0, 65535), min_size=4, max_size=4),
    "SliceThickness": st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.6g}"),
    "ImageComments": _TEXT,
    "ContentDate": st.sampled_from(["20240229", "", "19991231"]),
    "RedPaletteColorLookupTableData": st.binary(max_size=2200).map(lambda b: b[: len(b) // 2 * 2]),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(sorted(_ATTRIBUTES)), st.none(), max_size=len(_ATTRIBUTES)
    ).flatmap(lambda keys: st.fixed_dictionaries({k: _ATTRIBUTES[k] for k in keys}))
)
def test_random_datasets_walk_the_same(attrs):
    data = make_instance(**attrs)
    walked, general = _both(data)
    if walked is not None:
        _assert_same(walked, general)
