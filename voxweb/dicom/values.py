"""DICOM JSON (PS3.18 F.2) of one element's value, straight from its bytes.

Shared by both ways ``parse_instance`` walks a dataset. Only the unambiguous cases are
converted here; ``None`` means "let pydicom decide" (a character set that needs pydicom's
decoder, empty values inside a multi-value, a malformed number, an AT or UN value).
"""

from __future__ import annotations

import base64
import struct
from typing import Any

BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
ALL_VRS = frozenset(
    [
        "AE",
        "AS",
        "AT",
        "CS",
        "DA",
        "DS",
        "DT",
        "FD",
        "FL",
        "IS",
        "LO",
        "LT",
        "OB",
        "OD",
        "OF",
        "OL",
        "OV",
        "OW",
        "PN",
        "SH",
        "SL",
        "SQ",
        "SS",
        "ST",
        "SV",
        "TM",
        "UC",
        "UI",
        "UL",
        "UN",
        "UR",
        "US",
        "UT",
        "UV",
    ]
)

TEXT_MULTI_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "SH", "TM", "UC", "UI"})
_TEXT_SINGLE = frozenset({"LT", "ST", "UT", "UR"})
_CHARSET_SENSITIVE = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "PN"})
_BINARY_NUM = {
    "US": "H",
    "SS": "h",
    "UL": "I",
    "SL": "i",
    "FL": "f",
    "FD": "d",
    "SV": "q",
    "UV": "Q",
}
SIMPLE_CHARSETS = {
    "": "latin-1",
    "ISO_IR 6": "latin-1",
    "ISO_IR 100": "latin-1",
    "ISO_IR 192": "utf-8",
}


def value_json(vr: str, value: bytes, little: bool, codec: str | None) -> dict[str, Any] | None:
    """JSON of a simple element straight from its bytes; None -> let pydicom convert it."""
    if not value:
        return {"vr": vr}
    if vr in _BINARY_NUM:
        fmt = _BINARY_NUM[vr]
        size = struct.calcsize(fmt)
        if len(value) % size:
            return None
        n = len(value) // size
        return {"vr": vr, "Value": list(struct.unpack(f"{'<' if little else '>'}{n}{fmt}", value))}
    if vr in BINARY_VRS:
        return {"vr": vr, "InlineBinary": base64.b64encode(value).decode("ascii")}
    if vr in _CHARSET_SENSITIVE and codec is None:
        return None
    try:
        text = value.decode(codec or "ascii")
    except UnicodeDecodeError:
        return None
    if vr in TEXT_MULTI_VRS and "\\" not in text:  # the common case: one value
        text = text.strip("\0 ")
        return {"vr": vr, "Value": [text]} if text else {"vr": vr}
    if vr in _TEXT_SINGLE:
        text = text.rstrip("\0 ")
        return {"vr": vr, "Value": [text]} if text else {"vr": vr}
    if vr in TEXT_MULTI_VRS or vr in ("IS", "DS", "PN"):
        parts = [p.strip("\0 ") for p in text.split("\\")]
        if not any(parts):
            return {"vr": vr}
        if not all(parts):
            return None  # empty values inside a multi-value: pydicom decides
        if vr == "PN":
            out = []
            for p in parts:
                groups = p.split("=")
                out.append(
                    {
                        k: g
                        for k, g in zip(
                            ("Alphabetic", "Ideographic", "Phonetic"), groups, strict=False
                        )
                        if g
                    }
                )
            return {"vr": vr, "Value": out}
        if vr == "IS":
            try:
                return {"vr": vr, "Value": [int(p) for p in parts]}
            except ValueError:
                return None
        if vr == "DS":
            nums: list[Any] = []
            for p in parts:
                try:
                    f = float(p)
                except ValueError:
                    return None
                nums.append(f)
            return {"vr": vr, "Value": nums}
        return {"vr": vr, "Value": parts}
    return None
