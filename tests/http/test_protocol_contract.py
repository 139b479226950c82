"""The parts of uvicorn's private HttpToolsProtocol that http/protocol.py builds on.

The behaviour (431 for a huge head, 408 for a stalled one, HTTP/1.0 keep-alive) is tested
through a real server in tests/security and tests/http; this test names what a uvicorn upgrade
must still provide, so a bump past the pin fails here with the reason instead of as a hang.
"""

from __future__ import annotations

import inspect

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from voxweb.http.protocol import TimedHttpToolsProtocol

OVERRIDDEN = (
    "data_received",
    "on_url",
    "on_header",
    "send_400_response",
    "connection_made",
    "on_message_begin",
    "on_headers_complete",
    "connection_lost",
)
ATTRIBUTES_SET_BY_UVICORN = ("self.parser", "self.cycle", "self.transport", "self.loop")


def test_every_overridden_method_exists_in_uvicorn():
    for name in OVERRIDDEN:
        assert callable(getattr(HttpToolsProtocol, name, None)), f"uvicorn lost {name}"
        assert name in TimedHttpToolsProtocol.__dict__


def test_the_private_attributes_are_still_uvicorn_s():
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in ATTRIBUTES_SET_BY_UVICORN:
        assert f"{attribute} =" in source, f"uvicorn no longer sets {attribute}"


def test_pinned_minor_version_is_the_installed_one():
    major, minor = (int(p) for p in uvicorn.__version__.split(".")[:2])
    assert (major, minor) == (0, 55), "re-check http/protocol.py against this uvicorn"
