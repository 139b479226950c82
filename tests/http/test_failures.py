"""One exception -> status table for every area (voxweb/http/errors.py)."""

from __future__ import annotations

import pytest

from voxweb.booleans import is_not_no, is_yes, parse_bool
from voxweb.dicom.errors import DicomFormatError, NotFoundError, QueryError
from voxweb.dicom.frames import DecoderUnavailableError
from voxweb.http.errors import HttpError, failure_of
from voxweb.io.errors import VolumeFormatError
from voxweb.scene.scene import NodeNotFoundError
from voxweb.services.fetch import FetchRefusedError
from voxweb.services.files import PathNotAllowedError


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (HttpError(415, "no"), 415),
        (PathNotAllowedError("outside the file roots"), 403),
        (FetchRefusedError("private address"), 403),
        (NotFoundError("no study"), 404),
        (NodeNotFoundError("vtkMRMLScalarVolumeNode9"), 404),
        (DecoderUnavailableError("JPEG XL"), 406),
        (QueryError("bad date range"), 400),
        (VolumeFormatError("truncated"), 400),
        (DicomFormatError("not DICOM"), 400),
    ],
)
def test_each_layer_error_has_one_status(exc, status):
    failure = failure_of(exc)
    assert failure.status == status
    assert failure.expected
    assert str(exc.args[0]) in failure.message


def test_an_error_no_row_names_is_an_unexpected_500():
    failure = failure_of(ZeroDivisionError("division by zero"))
    assert failure.status == 500 and not failure.expected
    assert failure.message == "division by zero"


def test_yes_and_no_words_are_read_the_same_everywhere():
    assert [is_yes(w) for w in ("1", "TRUE", " yes", "on", "0", "", None, "maybe")] == [
        True, True, True, True, False, False, False, False,
    ]  # fmt: skip
    assert [is_not_no(w) for w in ("false", "0", "", "Off", "x", "1", None)] == [
        False, False, False, False, True, True, False,
    ]  # fmt: skip
    assert parse_bool("Yes") is True and parse_bool("off") is False
    with pytest.raises(ValueError):
        parse_bool("maybe")
