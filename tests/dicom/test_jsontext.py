"""Stored JSON is strict JSON, whatever odd values an instance carries."""

from __future__ import annotations

import json

from tests.dicom.helpers import make_instance
from voxweb.dicom.jsontext import dumps, dumps_bytes
from voxweb.dicom.parse import parse_instance


def _strict(text: str):
    def refuse(name: str):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_same_json_as_the_standard_library():
    obj = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Müller^Zoë"}]}, "n": [1, 2.5, -3e-7]}
    assert _strict(dumps(obj)) == obj
    assert dumps_bytes(obj).decode() == dumps(obj)
    assert "Müller" in dumps(obj)  # UTF-8, not \u escapes


def test_an_integer_beyond_64_bits_falls_back():
    assert _strict(dumps({"v": [2**70]})) == {"v": [2**70]}


def test_a_nan_decimal_string_is_stored_as_null():
    rec = parse_instance(make_instance(SliceThickness="NaN", PixelSpacing=["inf", "0.5"]))
    model = _strict(rec.json)  # json.dumps would have written NaN, which is not JSON
    assert model["00180050"] == {"vr": "DS", "Value": [None]}
    assert model["00280030"] == {"vr": "DS", "Value": [None, 0.5]}
