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
import subprocess
import sys
import threading
from pathlib import Path
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


# --- 2. --file-root: the path checked is the path opened ------------------------------------

SECRET_SHAPE = (5, 5, 5)  # what a volume read from outside the root would look like


@pytest.fixture
def tree(tmp_path):
    """``root/d/v.nrrd`` inside the file root; ``outside/`` with a secret and a sentinel."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "d").mkdir(parents=True)
    outside.mkdir()
    (root / "d" / "v.nrrd").write_bytes(nrrd_bytes(7))
    (outside / "v.nrrd").write_bytes(nrrd_bytes(4242, SECRET_SHAPE))
    (outside / "sentinel.txt").write_text("untouched")
    return root, outside


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def load(server, path: Path | str):
    return server.post(f"/slicer/mrml?localfile={quote(str(path), safe='')}&filetype=VolumeFile")


def save(server, node_id: str, path: Path | str):
    return server.get(f"/slicer/mrml/file?localfile={quote(str(path), safe='')}&id={node_id}")


def put_volume(server, name: str = "Saved") -> str:
    r = server.post(f"/slicer/volume?id={name}", data=nrrd_bytes(3))
    assert r.status_code == 200, r.text
    return server.get(f"/slicer/mrml/ids?name={name}").json()[0]


def volume_shapes(server) -> list[tuple[int, ...]]:
    props = server.get("/slicer/mrml/properties?class=vtkMRMLScalarVolumeNode").json()
    return [tuple(p["ImageData"]["Dimensions"][::-1]) for p in props.values()]


def test_a_symlinked_folder_in_a_client_path_is_refused(voxweb, tree):
    root, outside = tree
    (root / "mid").symlink_to(outside)
    before = snapshot(outside)
    server = voxweb("--file-root", str(root))
    node_id = put_volume(server)
    for path in (root / "mid" / "v.nrrd", "mid/v.nrrd", root / "d" / ".." / "mid" / "v.nrrd"):
        r = load(server, path)
        assert r.status_code == 403 and "outside the allowed file roots" in r.json()["message"]
        assert save(server, node_id, str(path).replace("v.nrrd", "new.nrrd")).status_code == 403
    assert SECRET_SHAPE not in volume_shapes(server)
    assert snapshot(outside) == before


def test_a_symlink_as_the_last_component_is_refused(voxweb, tree):
    root, outside = tree
    (root / "d" / "link.nrrd").symlink_to(outside / "v.nrrd")
    (root / "d" / "dangling.nrrd").symlink_to(outside / "new.nrrd")
    before = snapshot(outside)
    server = voxweb("--file-root", str(root))
    node_id = put_volume(server)
    assert load(server, root / "d" / "link.nrrd").status_code == 403
    assert save(server, node_id, root / "d" / "link.nrrd").status_code == 403
    assert save(server, node_id, root / "d" / "dangling.nrrd").status_code == 403
    assert SECRET_SHAPE not in volume_shapes(server)
    assert snapshot(outside) == before


def test_a_folder_swapped_for_a_symlink_after_the_check_is_not_followed(tree):
    # The swap happens at the worst moment on purpose: between the check and the use.
    from voxweb.services.files import open_for_reading, write_confined

    root, outside = tree
    before = snapshot(outside)

    def swap() -> None:
        (root / "d").rename(root / "moved")
        (root / "d").symlink_to(outside)

    with open_for_reading(root / "d" / "v.nrrd", [root]) as opened:
        swap()
        data, _ = nrrd.read(str(opened.reader))
    assert data.shape == (4, 3, 2) and int(data.max()) == 7  # the checked file, not the secret
    assert opened.path == root.resolve() / "d" / "v.nrrd"

    (root / "d").unlink()
    (root / "moved").rename(root / "d")

    def write(target: Path) -> None:
        target.write_bytes(nrrd_bytes(9))
        swap()

    written = write_confined(root / "d" / "out.nrrd", [root], write)
    assert written == root.resolve() / "d" / "out.nrrd"
    assert (root / "moved" / "out.nrrd").read_bytes() == nrrd_bytes(9)
    assert snapshot(outside) == before


def test_a_detached_header_cannot_point_its_data_outside_the_root(voxweb, tree):
    root, outside = tree
    (outside / "voxels.raw").write_bytes(np.full(24, 4242, dtype=np.int16).tobytes())
    header = "NRRD0004\ntype: short\ndimension: 3\nsizes: 2 3 4\nendian: little\nencoding: raw\n"
    (root / "d" / "far.nhdr").write_text(header + f"data file: {outside / 'voxels.raw'}\n\n")
    (root / "d" / "up.nhdr").write_text(header + "data file: ../../outside/voxels.raw\n\n")
    (root / "d" / "voxels.raw").write_bytes(np.arange(24, dtype=np.int16).tobytes())
    (root / "d" / "near.nhdr").write_text(header + "data file: voxels.raw\n\n")
    server = voxweb("--file-root", str(root))
    for name in ("far.nhdr", "up.nhdr"):
        r = load(server, root / "d" / name)
        assert r.status_code == 403 and "outside the allowed file roots" in r.json()["message"]
    assert server.get("/slicer/mrml/ids?class=vtkMRMLScalarVolumeNode").json() == []
    r = load(server, root / "d" / "near.nhdr")
    assert r.status_code == 200, r.text
    assert volume_shapes(server) == [(4, 3, 2)]


FLIPPER = """
import os, sys, time
folder, outside, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
stash, flips, end = folder + "-real", 0, time.monotonic() + seconds
while time.monotonic() < end:
    os.rename(folder, stash)
    os.symlink(outside, folder)
    os.unlink(folder)
    os.rename(stash, folder)
    flips += 1
    time.sleep(0.0003)  # long enough for some checks to pass, so the opens after them race
print(flips)
"""


def test_racing_a_symlink_into_a_client_path_never_reaches_outside(voxweb, tree):
    """A local user flips ``root/d`` between the real folder and a symlink to ``outside`` as
    fast as they can while clients read and write ``root/d/...`` through the routes."""
    root, outside = tree
    before = snapshot(outside)
    server = voxweb("--file-root", str(root))
    node_id = put_volume(server)
    # The attacker is another process (as another user would be): no GIL shared with clients.
    flipper = subprocess.Popen(
        [sys.executable, "-c", FLIPPER, str(root / "d"), str(outside), "4.0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    counts = {"read": 0, "wrote": 0, "tries": 0}

    def client(kind: str) -> None:
        while flipper.poll() is None:
            counts["tries"] += 1
            if kind == "read":
                r = load(server, root / "d" / "v.nrrd")
            else:
                r = save(server, node_id, root / "d" / "out.nrrd")
            if r.status_code == 200:
                counts["read" if kind == "read" else "wrote"] += 1

    clients = [threading.Thread(target=client, args=(k,)) for k in ("read", "write")]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    flips = int(flipper.communicate(timeout=30)[0])

    assert flips > 500, flips
    assert counts["read"] > 0 and counts["wrote"] > 0, counts  # the routes did work meanwhile
    shapes = volume_shapes(server)
    escapes = []
    if snapshot(outside) != before:
        escapes.append(f"written outside the root: {sorted(snapshot(outside))}")
    if SECRET_SHAPE in shapes:
        escapes.append(f"read from outside the root {shapes.count(SECRET_SHAPE)} times")
    assert not escapes, f"{escapes} ({flips} flips, {counts})"
    assert shapes.count((2, 3, 4)) == counts["read"] + 1  # + the volume saved


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
