"""The HTTP-layer holes of the December attack round, each replayed against a real server.

Covers: the login cookie under ``--cors-origin '*'``, unauthenticated OPTIONS reaching
extension handlers, security headers (framing, sniffing, CSP), cookies from browsers that
send no ``Sec-Fetch-Site``, tokens in log lines, oversized request heads, loose Host parsing,
open redirects, and out-of-range numbers. The browser halves (a real page on another port)
are in ``tests/browser/test_content_policy.py``.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.support.server import VoxwebProcess, wait_for
from voxweb.config import Settings
from voxweb.server import Server

OTHER_PORT = "http://127.0.0.1:9"  # another port of localhost: same-site, not same-origin


@pytest.fixture(scope="module")
def wildcard(tmp_path_factory):
    base = tmp_path_factory.mktemp("wildcard")
    proc = VoxwebProcess(base / "data", ["--enable-exec", "--cors-origin", "*"])
    proc.start()
    proc.marker = base / "pwned"
    yield proc
    proc.stop()


def cookie_of(server) -> dict[str, str]:
    return {"Cookie": f"voxweb_token_{server.port}={server.token}"}


def exec_code(server) -> bytes:
    return f"open({str(server.marker)!r}, 'w').write('x')\n__execResult = 1".encode()


# --- 2. '*' CORS and the login cookie -------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        # a no-cors text/plain fetch from another port: Origin is sent on POST
        {"Origin": OTHER_PORT, "Sec-Fetch-Site": "same-site"},
        # the same from a page on any other site
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        # an <img>/<form> load with no Origin, only a Referer
        {"Sec-Fetch-Site": "same-site", "Referer": OTHER_PORT + "/attack.html"},
    ],
)
def test_wildcard_cors_never_accepts_the_cookie(wildcard, extra):
    headers = {**cookie_of(wildcard), "Content-Type": "text/plain", **extra}
    r = wildcard.post("/slicer/exec", data=exec_code(wildcard), headers=headers, auth=False)
    assert r.status_code == 403
    assert "Authorization" in r.json()["message"]
    assert not wildcard.marker.exists(), "the page's code ran"


def test_wildcard_cors_serves_a_token_in_the_header(wildcard):
    r = wildcard.get("/slicer/system/version", headers={"Origin": OTHER_PORT})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == OTHER_PORT
    # ... but not a token in the query (it would come with a cookie for that page)
    r = wildcard.get(
        f"/slicer/system/version?token={wildcard.token}", headers={"Origin": OTHER_PORT}, auth=False
    )
    assert r.status_code == 403
    assert "set-cookie" not in r.headers


def test_own_pages_and_named_origins_keep_the_cookie(wildcard, voxweb):
    own = wildcard.get(
        "/slicer/system/version",
        headers={**cookie_of(wildcard), "Origin": wildcard.url, "Sec-Fetch-Site": "same-origin"},
        auth=False,
    )
    assert own.status_code == 200
    named = voxweb("--cors-origin", "http://127.0.0.1:9")
    r = named.get(
        "/slicer/system/version",
        headers={**cookie_of(named), "Origin": OTHER_PORT, "Sec-Fetch-Site": "same-site"},
        auth=False,
    )
    assert r.status_code == 200


def test_wildcard_cors_without_a_token_is_refused_at_start(tmp_path):
    proc = VoxwebProcess(tmp_path / "d", ["--auth", "none", "--cors-origin", "*"])
    proc.start(expect_url=False)
    assert proc.wait_exit() != 0
    assert "cors_origin '*' needs token auth" in proc.output()


# --- weak: browsers that send no Sec-Fetch-Site ---------------------------------------------


@pytest.mark.parametrize(
    ("referer", "status"),
    [(None, 403), (OTHER_PORT + "/x.html", 403), ("https://evil.example/", 403), ("own", 200)],
)
def test_cookie_without_fetch_metadata_needs_a_same_origin_referer(wildcard, referer, status):
    headers = cookie_of(wildcard)
    if referer:
        headers["Referer"] = wildcard.url + "/viewer.html" if referer == "own" else referer
    r = wildcard.get("/slicer/system/version", headers=headers, auth=False)
    assert r.status_code == status


def test_scripts_with_the_token_need_no_browser_headers(wildcard):
    assert wildcard.get("/slicer/system/version").status_code == 200  # Authorization only


# --- 3. OPTIONS and extension handlers ------------------------------------------------------


class Recorder:
    """An ASGI app that records every request it is handed."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes]] = []

    async def __call__(self, scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append((scope["method"], body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"handled"})


class SlicerStyle:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def canHandleRequest(self, method, uri, requestBody):  # noqa: N802 - Slicer's names
        return 0.9 if uri.startswith(b"/ext") else 0.0

    def handleRequest(self, method, uri, requestBody):  # noqa: N802
        self.seen.append(method)
        return b"text/plain", b"handled"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    settings = Settings(
        port=0, data_dir=tmp_path_factory.mktemp("embedded"), cors_origin=["https://ok.example"]
    )
    server = Server(settings)
    prefix_app, bidder = Recorder(), SlicerStyle()
    server.add_handler(prefix="/myapp", app=prefix_app)
    server.add_handler(bidder)
    server.start()
    server.prefix_app, server.bidder = prefix_app, bidder
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/myapp/thing", "/ext/thing"])
def test_options_without_a_token_never_reaches_a_handler(embedded, path):
    url = embedded.url + path
    r = requests.options(url, data=b"secret payload", timeout=10)
    assert r.status_code == 401
    # a preflight is answered by the CORS layer itself
    r = requests.options(
        url,
        headers={"Origin": "https://ok.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert r.status_code == 204 and r.text == ""
    assert embedded.prefix_app.seen == [] and embedded.bidder.seen == []
    # with the token an OPTIONS is an ordinary request
    auth = {"Authorization": f"Bearer {embedded.token}"}
    r = requests.options(url, data=b"payload", headers=auth, timeout=10)
    assert r.status_code == 200 and r.text == "handled"
    embedded.prefix_app.seen.clear()
    embedded.bidder.seen.clear()


def test_options_on_the_apis_needs_the_token(wildcard):
    for path in ("/dicom", "/dicom/studies", "/slicer/mrml", "/api/status"):
        assert wildcard.request("OPTIONS", path, auth=False).status_code == 401, path
    assert wildcard.request("OPTIONS", "/slicer/mrml").status_code == 204  # as Slicer 5.8


# --- 4. security headers --------------------------------------------------------------------


def test_every_response_forbids_framing_and_sniffing(wildcard):
    paths = ["/", "/viewer.html", "/api.html", "/panel.js", "/no-such-file",
             "/slicer/system/version", "/api/status", "/dicom/studies"]  # fmt: skip
    for path in paths:
        r = wildcard.get(path)
        assert r.headers["x-frame-options"] == "SAMEORIGIN", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'self'" in r.headers["content-security-policy"], path
    page = wildcard.get("/").headers["content-security-policy"]
    assert "default-src 'self'" in page and "script-src 'self';" in page
    assert "unsafe-inline" not in page
    api = wildcard.get("/api/status").headers["content-security-policy"]
    assert "default-src 'none'" in api
    refused = wildcard.get("/", headers={"Host": "evil.example"})
    assert refused.status_code == 403 and refused.headers["x-frame-options"] == "SAMEORIGIN"


# --- weak: tokens in log lines --------------------------------------------------------------


def test_no_spelling_of_the_token_reaches_a_log(tmp_path):
    proc = VoxwebProcess(tmp_path / "d", ["--log-console"]).start()
    try:
        token = proc.token
        encoded = "".join(f"%{ord(c):02x}" for c in token)
        for query in (
            f"access_token={token}",
            f"Token={token}",
            f"tok%65n={token}",
            f"TOKEN={token}",
            f"url=slicer://host/x%3Faccess_token%3D{token}",
            f"url=slicer://host/x?access_token={token}",
            f"anything={token}",
            f"anything={encoded}",
            f"api_key={token}",
        ):
            # raw bytes: requests would undo the %65 spelling before sending
            proc.raw(
                f"GET /slicer/system/version?{query} HTTP/1.1\r\nHost: localhost\r\n"
                "Connection: close\r\n\r\n".encode()
            )
        proc.get(f"/slicer/{token}", auth=False)
        proc.get(f"/{token}", auth=False)
        proc.get("/api/status", auth=False, headers={"Authorization": f"Bearer {token}x"})
        entries = proc.get("/api/log").json()["entries"]
        messages = "\n".join(e["message"] for e in entries)
        assert "access_token=***" in messages and "tok%65n=***" in messages
        assert token not in messages and encoded not in messages
        wait_for(lambda: "/api/log" in proc.output(), what="the console access log")
        # every line but the one that prints the URL with the token for the user to open (a
        # "port busy" line may come first when another test took the port)
        printed = "\n".join(
            line for line in proc.output().splitlines() if " serving at " not in line
        )
        assert token not in printed and encoded not in printed
    finally:
        proc.stop()


# --- weak: request head size ----------------------------------------------------------------


def _send_head(port: int, head: bytes, chunk: int = 1 << 16) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            for start in range(0, len(head), chunk):
                sock.sendall(head[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        data = b""
        try:
            while chunk_in := sock.recv(65536):
                data += chunk_in
        except (ConnectionResetError, TimeoutError):
            pass
        return data


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_oversized_request_heads_get_431_without_being_buffered(wildcard):
    before = _peak_rss_kib(wildcard.proc.pid)
    big_value = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * (64 << 20) + b"\r\n\r\n"
    answer = _send_head(wildcard.port, big_value)
    assert answer.startswith(b"HTTP/1.1 431 ")
    many = b"GET / HTTP/1.1\r\nHost: localhost\r\n" + b"X-A: b\r\n" * 20000 + b"\r\n"
    assert _send_head(wildcard.port, many).startswith(b"HTTP/1.1 431 ")
    long_url = b"GET /?" + b"q" * 200_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    assert _send_head(wildcard.port, long_url).startswith(b"HTTP/1.1 431 ")
    assert _peak_rss_kib(wildcard.proc.pid) - before < 32 << 10  # far below the 64 MB sent
    # an ordinary large head still works, and so do pipelined requests in one send
    ok = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Ok: " + b"a" * 30_000 + b"\r\n"
    ok += b"Connection: close\r\n\r\n"
    assert _send_head(wildcard.port, ok).startswith(b"HTTP/1.1 200 ")
    pipelined = b"GET /panel.js HTTP/1.1\r\nHost: localhost\r\n\r\n" * 3000
    pipelined += b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    answers = _send_head(wildcard.port, pipelined, chunk=len(pipelined))
    assert answers.count(b"HTTP/1.1 200 ") == 3001


# --- weak: Host parsing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["evil.example@localhost:{port}", "localhost:{port}/evil", "localhost:{port}?x",
     "localhost:{port} evil", "localhost:99999", "localhost:{port}#x", "[::1"],
)  # fmt: skip
def test_host_header_is_exactly_host_and_port(wildcard, host):
    r = wildcard.get("/api/status", headers={"Host": host.format(port=wildcard.port)})
    assert r.status_code == 403


def test_two_host_headers_are_refused(wildcard):
    head = (
        f"GET /api/status HTTP/1.1\r\nHost: localhost:{wildcard.port}\r\nHost: evil.example\r\n"
        f"Authorization: Bearer {wildcard.token}\r\nConnection: close\r\n\r\n"
    ).encode()
    answer = wildcard.raw(head)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"more than one Host" in answer


# --- weak: redirects ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["//evil.example/x", "///evil.example/x", "/\\evil.example/x"])
def test_redirects_stay_on_this_server(wildcard, path):
    r = requests.get(
        f"{wildcard.url}{path}?token={wildcard.token}", allow_redirects=False, timeout=10
    )
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert urlsplit(urljoin(wildcard.url + "/", location)).netloc == urlsplit(wildcard.url).netloc


def test_directory_redirect_stays_on_this_server(tmp_path, voxweb):
    docroot = tmp_path / "docroot"
    (docroot / "sub").mkdir(parents=True)
    server = voxweb("--docroot", str(docroot))
    r = requests.get(f"{server.url}//sub", allow_redirects=False, timeout=10)
    assert r.status_code == 301 and r.headers["location"] == "/sub/"


# --- weak: out-of-range numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/dicom/studies?limit=99999999999999999999999",
        "/dicom/studies?offset=99999999999999999999999",
        "/dicom/studies?limit=9223372036854775808",
        "/dicom/series?limit=1e999",
        "/dicom/instances?offset=-99999999999999999999999",
    ],
)
def test_out_of_range_numbers_are_400(wildcard, path):
    r = wildcard.get(path)
    assert r.status_code == 400, r.text
    assert "limit" in r.text or "offset" in r.text


def test_header_cap_check_is_cheap_for_a_slow_honest_client(wildcard):
    """A head that trickles in small pieces under the cap is still served."""
    with socket.create_connection(("127.0.0.1", wildcard.port), timeout=10) as sock:
        head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"s" * 4000 + b"\r\n"
        for start in range(0, len(head), 500):
            sock.sendall(head[start : start + 500])
            time.sleep(0.005)
        sock.sendall(b"Connection: close\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 200 ")


def test_server_survives_the_attacks_above(wildcard):
    threads = [
        threading.Thread(
            target=_send_head,
            args=(wildcard.port, b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * (1 << 20)),
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wildcard.get("/api/status").status_code == 200
