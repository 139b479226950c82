"""``voxweb.Server`` inside a Python process: background start/stop and extension handlers."""

from __future__ import annotations

import socket

import pytest
import requests
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import voxweb


@pytest.fixture
def settings(tmp_path):
    return voxweb.Settings(port=0, data_dir=tmp_path)


def test_start_serves_on_a_thread_and_stop_frees_the_port(settings):
    server = voxweb.Server(settings).start()
    try:
        assert server.running
        headers = {"Authorization": f"Bearer {server.token}"}
        # The caller's thread is free while the server answers.
        for _ in range(3):
            r = requests.get(server.url + "/slicer/system/version", headers=headers, timeout=10)
            assert r.json()["applicationName"] == "voxweb"
        port = server.port
    finally:
        server.stop()
    assert not server.running
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_context_manager_and_overrides(tmp_path):
    with voxweb.Server(port=0, data_dir=tmp_path, auth="none") as server:
        assert server.token is None
        assert requests.get(server.url + "/slicer/system/version", timeout=10).status_code == 200


def test_http_shutdown_ends_a_background_server(settings):
    server = voxweb.Server(settings).start()
    r = requests.delete(
        server.url + "/slicer/system",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    assert r.json() == {"success": True}
    server._thread.join(10)
    assert not server._thread.is_alive()
    server.stop()


def test_prefix_handler_owns_its_prefix_and_is_protected(settings):
    async def hello(request):
        return PlainTextResponse(f"hello {request.url.path}")

    app = Starlette(routes=[Route("/myapp/hi", hello)])
    server = voxweb.Server(settings)
    server.add_handler(prefix="/myapp", app=app)
    with server:
        auth = {"Authorization": f"Bearer {server.token}"}
        assert requests.get(server.url + "/myapp/hi", timeout=10).status_code == 401
        r = requests.get(server.url + "/myapp/hi", headers=auth, timeout=10)
        assert r.text == "hello /myapp/hi"
        assert requests.get(server.url + "/myappx", headers=auth, timeout=10).status_code == 404


class EchoHandler:
    """A handler written for Slicer's WebServer module (same two methods)."""

    def canHandleRequest(self, method, uri, requestBody):  # noqa: N802 - Slicer's API
        return 0.75 if uri.startswith(b"/slicer/echo") else 0.0

    def handleRequest(self, method, uri, requestBody):  # noqa: N802
        if uri.startswith(b"/slicer/echo/empty"):
            return b"text/plain", b""
        return b"application/json", b'{"method": "%s", "body": "%s"}' % (
            method.encode(),
            requestBody,
        )


def test_slicer_style_handler_wins_by_confidence(settings):
    server = voxweb.Server(settings)
    server.add_handler(EchoHandler())
    with server:
        auth = {"Authorization": f"Bearer {server.token}"}
        r = requests.post(server.url + "/slicer/echo", data=b"abc", headers=auth, timeout=10)
        assert r.json() == {"method": "POST", "body": "abc"}
        assert (
            requests.get(server.url + "/slicer/echo/empty", headers=auth, timeout=10).status_code
            == 404
        )
        # Lower bids leave the built-in routes alone.
        assert (
            requests.get(
                server.url + "/slicer/system/version", headers=auth, timeout=10
            ).status_code
            == 200
        )
        assert (
            requests.post(server.url + "/slicer/echo", data=b"abc", timeout=10).status_code == 401
        )


def test_bad_handlers_are_refused(settings):
    server = voxweb.Server(settings)
    with pytest.raises(TypeError):
        server.add_handler(object())
    with pytest.raises(ValueError):
        server.add_handler(prefix="relative", app=object())
