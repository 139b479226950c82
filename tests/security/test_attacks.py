"""Attacks a hostile web page or a careless network can mount, each against a real server.

Slicer's module is open to every one of these (spec §§1–6, [SEC]). Each test proves the
request is refused AND that nothing happened: no code ran, no node appeared or vanished, no
file was written, the server still runs.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.support.server import VoxwebProcess, wait_for

EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    base = tmp_path_factory.mktemp("attack")
    roots = base / "files"
    roots.mkdir()
    proc = VoxwebProcess(
        base / "data", ["--enable-exec", "--file-root", str(roots), "--no-sample-download"]
    )
    proc.start()
    proc.marker = base / "pwned"  # exec code in the attacks writes this file if it ever runs
    proc.roots = roots
    yield proc
    proc.stop()


def scene_ids(server) -> list[str]:
    return server.get("/slicer/mrml/ids").json()


def exec_payload(server) -> str:
    return f"open({str(server.marker)!r}, 'w').write('x')\n__execResult = 1"


def assert_untouched(server, ids_before):
    assert not server.marker.exists(), "attacker code ran"
    assert scene_ids(server) == ids_before
    assert server.proc.poll() is None


# --- cross-site requests from a browser ---------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
@pytest.mark.parametrize("with_token", [False, True])
def test_cross_site_simple_post_to_exec_is_refused(target, content_type, with_token):
    before = scene_ids(target)
    headers = {"Origin": EVIL, "Content-Type": content_type, "Sec-Fetch-Site": "cross-site"}
    r = target.post(
        "/slicer/exec", data=exec_payload(target).encode(), headers=headers, auth=with_token
    )
    assert r.status_code == 403
    assert_untouched(target, before)


STATE_CHANGES = [
    (
        "POST",
        "/slicer/volume?id=Injected",
        b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n\x01",
    ),
    ("DELETE", "/slicer/mrml", b""),
    ("PUT", "/slicer/mrml?id=vtkMRMLSliceNodeRed", b""),
    ("POST", "/slicer/mrml?localfile=%2Fetc%2Fhostname&filetype=VolumeFile", b""),
    (
        "POST",
        "/slicer/transform",
        b'{"name": "T", "matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}',
    ),
    ("PUT", "/slicer/tracking?p=1,2,3", b""),
    ("POST", "/slicer/gridTransform?id=G", b"NRRD0004\n"),
    ("POST", "/api/switches", b'{"exec": false}'),
    ("POST", "/api/log/clear", b""),
    ("DELETE", "/system", b""),
    ("DELETE", "/slicer/system", b""),
    ("POST", "/api/shutdown", b""),
]


@pytest.mark.parametrize(("method", "path", "body"), STATE_CHANGES)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL, "Content-Type": "text/plain"},
        {"Origin": EVIL, "Content-Type": "application/x-www-form-urlencoded"},
        {"Origin": "null", "Content-Type": "text/plain"},
        {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},
    ],
)
def test_cross_site_requests_to_state_changing_routes_are_refused(
    target, method, path, body, headers
):
    before = scene_ids(target)
    r = target.request(method, path, data=body, headers=headers)
    assert r.status_code == 403, (method, path, r.status_code)
    assert_untouched(target, before)
    assert target.get("/api/status").json()["apis"]["exec"] is True


def test_exec_source_in_a_url_never_runs(target):
    before = scene_ids(target)
    source = quote(exec_payload(target), safe="")
    for headers in ({}, {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"}):
        r = target.get(f"/slicer/exec?source={source}", headers=headers)
        assert r.status_code in (403, 405)
    assert_untouched(target, before)


STATE_CHANGING_GETS = [
    "/slicer/sampledata?name=MRHead",
    "/slicer/gui?contents=viewers&viewersLayout=OneUp3D",
    "/slicer/mrml/file?localfile=%2Ftmp%2Fx.nrrd&id=vtkMRMLSliceNodeRed",
    "/slicer/slice?view=Red&offset=33",
    "/slicer/threeD?lookFromAxis=left",
    "/slicer/fiducial?r=1&a=2&s=3",
    "/slicer/tracking?p=1,2,3",
    "/slicer/volumeSelection?cmd=next",
]


@pytest.mark.parametrize("path", STATE_CHANGING_GETS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"},  # <img src>
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "script", "Referer": EVIL + "/page"},
        {
            "Sec-Fetch-Site": "cross-site",
            "Sec-Fetch-Mode": "navigate",
            "Sec-Fetch-Dest": "document",
        },
        {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "image"},  # another port on localhost
        {"Origin": EVIL},
    ],
)
def test_cross_site_gets_never_reach_state_changing_routes(target, path, headers):
    before = scene_ids(target)
    layout_before = target.get(
        "/slicer/mrml/properties?id=vtkMRMLLayoutNodevtkMRMLLayoutNode"
    ).json()
    r = target.get(path, headers=headers)
    assert r.status_code == 403
    assert_untouched(target, before)
    layout_after = target.get(
        "/slicer/mrml/properties?id=vtkMRMLLayoutNodevtkMRMLLayoutNode"
    ).json()
    assert layout_after == layout_before


# --- DNS rebinding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:2016", "127.0.0.1.attacker.example"]
)
@pytest.mark.parametrize("auth", ["token", "none"])
def test_dns_rebinding_host_is_refused(voxweb, host, auth):
    server = voxweb("--auth", auth) if auth == "none" else voxweb()
    for path in ("/slicer/system/version", "/", "/api/status"):
        r = server.get(path, headers={"Host": host})
        assert r.status_code == 403, (host, path)


# --- tokens --------------------------------------------------------------------------------


def test_token_checks_and_the_token_never_reaches_logs(target):
    token = target.token
    for bad in (
        "",
        "x",
        token[:-1],
        token + "x",
        token.upper() if token.upper() != token else token.lower(),
    ):
        r = target.get("/api/status", auth=False, headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, bad
    target.get(f"/slicer/system/version?token={token}", auth=False)
    target.get("/api/status", auth=False, headers={"Authorization": f"Bearer {token}"})
    log = target.get("/api/log").json()["entries"]
    assert log and not any(token in e["message"] for e in log)


def test_token_comparison_time_does_not_depend_on_the_matching_prefix(target):
    """A coarse timing check: a near-miss is not measurably slower to refuse than a miss."""
    session = requests.Session()
    url = target.url + "/api/status"

    def median(token: str) -> float:
        times = []
        for _ in range(60):
            start = time.perf_counter()
            session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            times.append(time.perf_counter() - start)
        return sorted(times)[len(times) // 2]

    miss = "y" * len(target.token)
    near = target.token[:-1] + ("a" if target.token[-1] != "a" else "b")
    ratio = median(near) / median(miss)
    assert 0.5 < ratio < 2.0  # network noise dominates; a leaky compare would show a trend


# --- files and URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../../etc/passwd", "/tmp", "/proc/self/environ"],
)
def test_client_paths_outside_the_roots_are_refused(target, path):
    before = scene_ids(target)
    q = quote(path, safe="")
    r = target.post(f"/slicer/mrml?localfile={q}&filetype=VolumeFile")
    assert r.status_code == 403 and "outside the allowed file roots" in r.json()["message"]
    r = target.get(f"/slicer/mrml/file?localfile={q}&id=vtkMRMLSliceNodeRed")
    assert r.status_code in (403, 500)
    assert_untouched(target, before)


def test_writing_through_a_symlink_out_of_the_roots_is_refused(target, tmp_path):
    outside = tmp_path / "outside.nrrd"
    link = target.roots / "link.nrrd"
    link.symlink_to(outside)
    r = target.get(
        f"/slicer/mrml/file?localfile={quote(str(link), safe='')}&id=vtkMRMLSliceNodeRed"
    )
    assert r.status_code == 403
    assert not outside.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/x.nrrd",
        "http://localhost/x.nrrd",
        "http://[::1]/x.nrrd",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/x.nrrd",
        "http://192.168.0.1/x.nrrd",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
    ],
)
def test_url_fetch_to_internal_addresses_is_refused(voxweb, url):
    server = voxweb("--allow-url-fetch")
    r = server.post(f"/slicer/mrml?url={quote(url, safe='')}&filetype=VolumeFile")
    assert r.status_code in (403, 500)
    assert r.json()["success"] is False
    assert "Volume" not in " ".join(server.get("/slicer/mrml/names").json())


# --- CORS ------------------------------------------------------------------------------------


def test_cors_never_wildcard_with_credentials(voxweb):
    for args in ((), ("--cors-origin", "*"), ("--cors-origin", "https://ok.example")):
        server = voxweb(*args)
        for origin in ("https://ok.example", EVIL):
            r = server.get("/slicer/system/version", headers={"Origin": origin})
            allow = r.headers.get("access-control-allow-origin")
            assert allow != "*"
            assert r.headers.get("access-control-allow-credentials") is None
            if allow:
                assert allow == origin


def test_preflight_from_unlisted_origin_fails(voxweb):
    server = voxweb("--cors-origin", "https://ok.example")
    r = server.request(
        "OPTIONS",
        "/slicer/exec",
        auth=False,
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers


# --- resource limits -----------------------------------------------------------------------


def test_oversized_body_is_refused_without_being_read(voxweb):
    server = voxweb("--max-body-size", "1M")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST /slicer/volume?id=Big HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
                "Content-Length: 10000000000\r\n\r\n"
            ).encode()
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")


def test_connection_flood_does_not_exhaust_the_server(voxweb):
    server = voxweb("--header-timeout", "2")
    fd_dir = Path(f"/proc/{server.proc.pid}/fd")
    idle = []
    try:
        for _ in range(400):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
        # The server still answers while hundreds of silent connections sit open...
        assert server.get("/slicer/system/version", timeout=10).status_code == 200
        # ...and cuts each of them at the header timeout.
        first = idle[0].recv(1024)
        assert first.startswith(b"HTTP/1.1 408") or first == b""
        wait_for(
            lambda: len(list(fd_dir.iterdir())) < 100,
            timeout=15,
            what="idle connections to be closed",
        )
    finally:
        for sock in idle:
            sock.close()
    assert server.get("/slicer/system/version").status_code == 200
