"""URL fetching: off by default, http(s) only, private addresses refused (also via redirects)."""

from __future__ import annotations

import http.server
import threading

import pytest

from voxweb.services.fetch import (
    FetchPolicy,
    FetchRefusedError,
    fetch_to_file,
    is_forbidden_address,
)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict, bytes]] = {}

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        status, headers, body = self.routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    _Handler.routes = {
        "/vol.nrrd": (200, {}, b"NRRD0004\n" + b"z" * 1000),
        "/hop": (302, {"Location": "/vol.nrrd"}, b""),
        "/to-localhost": (302, {"Location": f"http://localhost:{port}/vol.nrrd"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
    }
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()


def test_off_by_default(site):
    with pytest.raises(FetchRefusedError, match="--allow-url-fetch"):
        fetch_to_file(site + "/vol.nrrd", FetchPolicy())


def test_loopback_refused_unless_allowed(site, tmp_path):
    with pytest.raises(FetchRefusedError, match="loopback, private and link-local"):
        fetch_to_file(site + "/vol.nrrd", FetchPolicy(enabled=True))
    path = fetch_to_file(site + "/hop", FetchPolicy(enabled=True, allow_private=True), tmp_path)
    assert path.name == "vol.nrrd" and path.read_bytes().startswith(b"NRRD0004")


def test_redirect_to_a_private_host_is_refused(site, tmp_path):
    policy = FetchPolicy(enabled=True, private_hosts=frozenset({"127.0.0.1"}))
    assert fetch_to_file(site + "/vol.nrrd", policy, tmp_path).exists()
    with pytest.raises(FetchRefusedError, match="localhost"):
        fetch_to_file(site + "/to-localhost", policy, tmp_path)


def test_schemes_size_and_redirect_loops(site, tmp_path):
    policy = FetchPolicy(enabled=True, allow_private=True, max_bytes=100)
    for url in ("file:///etc/passwd", "ftp://example.com/x", "gopher://x"):
        with pytest.raises(FetchRefusedError, match="only http and https"):
            fetch_to_file(url, policy)
    with pytest.raises(FetchRefusedError, match="over the limit"):
        fetch_to_file(site + "/vol.nrrd", policy, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind
    with pytest.raises(OSError, match="too many redirects"):
        fetch_to_file(site + "/loop", FetchPolicy(enabled=True, allow_private=True), tmp_path)


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("0.0.0.0", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:127.0.0.1", True),
        ("224.0.0.1", True),
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_forbidden_addresses(address, forbidden):
    assert is_forbidden_address(address) is forbidden
