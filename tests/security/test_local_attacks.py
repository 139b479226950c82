"""Attacks from the same machine or the server's own network (issue 12), each against the real
mechanism: other local users reading the data dir, a symlink swapped into a ``--file-root``
between the check and the open, and IPv6 spellings of internal addresses given to URL fetch.

Where a route is involved a real ``voxweb serve`` process answers; files are real files.
"""

from __future__ import annotations

import http.server
import io
import os
import socket
import stat
import threading
from urllib.parse import quote

import nrrd
import numpy as np
import pytest

from tests.http.dicomweb_support import multipart_body, synthetic_series
from tests.support.server import VoxwebProcess, wait_for
from tests.support.volumes import nrrd_header_for
from voxweb.services.fetch import is_forbidden_address


def nrrd_bytes(value: int = 7, shape: tuple[int, int, int] = (2, 3, 4)) -> bytes:
    buffer = io.BytesIO()
    header = {**nrrd_header_for(np.eye(4)), "encoding": "raw"}
    nrrd.write(buffer, np.full(shape, value, dtype=np.int16), header, index_order="C")
    return buffer.getvalue()


# --- 1. the data dir is for the user running voxweb only -------------------------------------


def test_data_dir_contents_are_private_and_an_open_data_dir_is_reported(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    os.chmod(data_dir, 0o755)  # as an operator's `mkdir` under umask 022 leaves it
    with VoxwebProcess(data_dir, ["--ingest-processes", "1"]) as server:
        wait_for(lambda: "chmod 700" in server.output(), what="the data dir warning")
        assert f"chmod 700 {data_dir}" in server.output()

        body, content_type = multipart_body(synthetic_series(slices=2, size=8))
        stored = server.post("/dicom/studies", data=body, headers={"Content-Type": content_type})
        assert stored.status_code == 200, stored.text
        uploaded = server.post("/api/files?filename=Upload.nrrd", data=nrrd_bytes())
        assert uploaded.status_code == 200, uploaded.text

    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o755, "voxweb changed the operator's dir"
    dicoms = list(data_dir.glob("dicom/store/**/*.dcm"))
    uploads = list(data_dir.glob("uploads/*/Upload.nrrd"))
    assert len(dicoms) == 2 and len(uploads) == 1
    for path in data_dir.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, f"{path.relative_to(data_dir)} is {mode:o}, not {expected:o}"


def test_a_private_data_dir_draws_no_warning(tmp_path):
    with VoxwebProcess(tmp_path / "new" / "data") as server:
        assert server.get("/api/status").status_code == 200
    assert "chmod 700" not in server.output()
    for folder in (tmp_path / "new", tmp_path / "new" / "data"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


# --- 3. server-side URL fetch: IPv6 spellings of internal IPv4 addresses ---------------------

FORBIDDEN = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",
    "240.0.0.1",
    "::",
    "::1",
    "fe80::1",
    "fe80::1%lo",
    "fec0::1",
    "fc00::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:7f00:1",
    "::7f00:1",  # IPv4-compatible (deprecated)
    "::a9fe:a9fe",
    "::ffff:0:7f00:1",  # IPv4-translated
    "::ffff:0:a00:1",
    "64:ff9b::7f00:1",  # NAT64 well-known prefix
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::7f00:1",  # NAT64 local use
    "64:ff9b:1:ffff::808:808",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::",
    "2002:c0a8:101::1",
    "2001:0:7f00:1::1",  # Teredo server 127.0.0.1
    "2001:0:808:808::80f7:f7f7",  # Teredo client 127.8.8.8 (obfuscated)
    "2001:0:808:808::ffff:fffe",  # Teredo client 0.0.0.1
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # a NAT64 gateway to a public address
    "2002:808:808::1",  # 6to4 of a public address
    "2001:0:808:808::f7f7:fbfb",  # Teredo: public server and client (8.8.4.4)
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_internal_addresses_are_forbidden(address):
    assert is_forbidden_address(address) is True


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address):
    assert is_forbidden_address(address) is False


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.hits.append(self.path)
        body = nrrd_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _DualStackServer(http.server.ThreadingHTTPServer):
    """Answers on every local address, IPv4 and IPv6, so any route inward would reach it."""

    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


@pytest.fixture
def internal_site():
    _CountingHandler.hits = []
    httpd = _DualStackServer(("::", 0), _CountingHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], _CountingHandler.hits
    httpd.shutdown()
    httpd.server_close()


def test_url_fetch_refuses_ipv6_spellings_of_loopback(voxweb, internal_site):
    port, hits = internal_site
    server = voxweb("--allow-url-fetch")
    for host in ("[::7f00:1]", "[::ffff:0:7f00:1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]"):
        url = f"http://{host}:{port}/x.nrrd"
        r = server.post(f"/slicer/mrml?url={quote(url, safe='')}&filetype=VolumeFile")
        assert r.status_code == 403, (host, r.status_code, r.text)
        assert "not allowed" in r.json()["message"]
    assert hits == [], "the internal server was reached"
    assert server.get("/slicer/mrml/ids?class=vtkMRMLScalarVolumeNode").json() == []
