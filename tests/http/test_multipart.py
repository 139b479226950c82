"""The STOW-RS multipart reader: every part back byte for byte; anything cut short is a 400."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxweb.dicom.multipart import split_multipart
from voxweb.http.dicomweb import parse_multipart
from voxweb.http.errors import HttpError

BOUNDARY = "b0undary"
CTYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
# bytes that come close to a delimiter without being one
_pieces = st.sampled_from([b"\r\n", b"--", b"\r\n--", b"b0und", b"\r\n\r\n", b"x", b"\x00", b"-"])
_content = (
    st.lists(st.one_of(_pieces, st.binary(max_size=8)), max_size=12)
    .map(b"".join)
    .filter(lambda c: b"\r\n--" + BOUNDARY.encode() not in b"\r\n" + c + b"\r\n")
)


def _body(parts: list[tuple[bool, bytes]], preamble: bytes | None, epilogue: bytes) -> bytes:
    out = b"" if preamble is None else preamble + b"\r\n"  # b"": the body starts with CRLF
    for with_header, content in parts:
        out += b"--" + BOUNDARY.encode() + b"\r\n"
        out += b"Content-Type: application/dicom\r\n\r\n" if with_header else b"\r\n"
        out += content + b"\r\n"
    return out + b"--" + BOUNDARY.encode() + b"--" + epilogue


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.tuples(st.booleans(), _content), min_size=1, max_size=4),
    preamble=st.sampled_from([None, b"", b"preamble text", b"--"]),
    epilogue=st.sampled_from([b"", b"\r\n", b"\r\nepilogue"]),
)
def test_parts_come_back_byte_for_byte(parts, preamble, epilogue):
    body = _body(parts, preamble, epilogue)
    got = parse_multipart(body, CTYPE)  # views into the body: STOW passes them on
    assert [content for _, content in got] == [content for _, content in parts]
    copied = split_multipart(body, BOUNDARY)  # copies, for callers that keep them
    assert all(type(content) is bytes for _, content in copied)
    assert [content for _, content in copied] == [content for _, content in parts]
    assert [h.get("content-type") for h, _ in got] == [
        "application/dicom" if with_header else None for with_header, _ in parts
    ]
    for cut in range(len(body) - len(BOUNDARY) - 4 - len(epilogue)):  # any cut before the end
        with pytest.raises(HttpError) as err:
            parse_multipart(body[:cut], CTYPE)
        assert err.value.status == 400
