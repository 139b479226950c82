"""Token, Host, cross-site and CORS rules, and body limits, against a real server."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from tests.support.server import VoxwebProcess

ALLOWED = "https://viewer.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(
        tmp_path_factory.mktemp("sec"),
        [
            "--cors-origin",
            ALLOWED,
            "--max-body-size",
            "1K",
            "--header-timeout",
            "1",
            "--body-timeout",
            "1",
        ],
    ) as proc:
        yield proc


VERSION = "/slicer/system/version"


# --- token ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_missing_or_wrong_token_is_401_with_message(server, headers):
    r = server.get(VERSION, auth=False, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert r.json()["success"] is False and "token" in r.json()["message"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    # It says how to authenticate: the header, where the token is, and the legacy mode.
    message = r.json()["message"]
    assert "'Authorization: Bearer <token>'" in message
    assert str((server.data_dir / "token").resolve()) in message
    assert "`voxweb token`" in message and "--auth none" in message


def test_partial_token_is_401(server):
    partial = server.token[:-1]
    assert (
        server.get(VERSION, auth=False, headers={"Authorization": f"Bearer {partial}"}).status_code
        == 401
    )
    assert server.get(f"{VERSION}?token={partial}", auth=False).status_code == 401


@pytest.mark.parametrize("scheme", ["Bearer", "token", "bearer"])
def test_token_header_forms(server, scheme):
    r = server.get(VERSION, auth=False, headers={"Authorization": f"{scheme} {server.token}"})
    assert r.status_code == 200


def test_query_token_sets_cookie_that_then_works(server):
    session = requests.Session()
    r = session.get(f"{server.url}{VERSION}?token={server.token}", timeout=10)
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert (
        "HttpOnly" in cookie
        and "SameSite=Strict" in cookie
        and f"voxweb_token_{server.port}=" in cookie
    )
    # The cookie works for this server's own pages: what a browser sends for them.
    own_page = {"Sec-Fetch-Site": "same-origin"}
    assert session.get(server.url + VERSION, headers=own_page, timeout=10).status_code == 200
    old_browser = {"Referer": server.url + "/viewer.html"}  # no Sec-Fetch-Site: Referer decides
    assert session.get(server.url + VERSION, headers=old_browser, timeout=10).status_code == 200
    # A cookie with nothing saying where the request comes from is not enough.
    assert session.get(server.url + VERSION, timeout=10).status_code == 403
    assert requests.get(server.url + VERSION, timeout=10).status_code == 401


def test_token_on_a_page_url_becomes_a_cookie_and_leaves_the_address_bar(server):
    r = requests.get(f"{server.url}/?token={server.token}&x=1", allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert r.headers["location"] == "/?x=1"
    assert f"voxweb_token_{server.port}={server.token}" in r.headers["set-cookie"]


def test_token_never_reaches_the_log(server):
    server.get(f"{VERSION}?token={server.token}", auth=False)
    entries = server.get("/api/log").json()["entries"]
    assert any("/slicer/system/version?token=***" in e["message"] for e in entries)
    assert not any(server.token in e["message"] for e in entries)


def test_static_pages_need_no_token_by_default(server):
    assert server.get("/", auth=False).status_code == 200


# --- Host -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:2016", "127.0.0.1.nip.io", "localhost.evil"]
)
def test_foreign_host_header_is_403_even_for_static(server, host):
    for path in (VERSION, "/"):
        r = server.get(path, headers={"Host": host})
        assert r.status_code == 403, (host, path)
        assert "Host" in r.json()["message"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_host_names_are_accepted(server, host):
    assert server.get(VERSION, headers={"Host": f"{host}:{server.port}"}).status_code == 200


def test_foreign_host_refused_with_auth_none(voxweb):
    open_server = voxweb("--auth", "none")
    assert open_server.get(VERSION, headers={"Host": "rebind.attacker.example"}).status_code == 403
    assert open_server.get(VERSION).status_code == 200


def test_allowed_host_flag(voxweb):
    srv = voxweb("--allowed-host", "voxweb.internal")
    assert srv.get(VERSION, headers={"Host": "voxweb.internal:443"}).status_code == 200
    assert srv.get(VERSION, headers={"Host": "other.internal"}).status_code == 403


# --- cross-site -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site", "Referer": "https://evil.example/page.html"},
        {"Sec-Fetch-Site": "same-site"},  # another port on localhost is another origin
    ],
)
def test_cross_site_requests_never_reach_an_api_even_with_the_token(server, headers):
    for method, path in (("GET", VERSION), ("DELETE", "/system"), ("POST", "/api/log/clear")):
        r = server.request(method, path, headers=headers)
        assert r.status_code == 403, (method, path, headers)
        assert "not allowed" in r.json()["message"]
    assert server.proc.poll() is None  # DELETE /system did not stop it


def test_same_origin_and_allow_listed_origins_pass(server):
    own = f"http://127.0.0.1:{server.port}"
    assert (
        server.get(VERSION, headers={"Origin": own, "Sec-Fetch-Site": "same-origin"}).status_code
        == 200
    )
    r = server.get(VERSION, headers={"Origin": ALLOWED})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in r.headers["vary"]
    assert "access-control-allow-credentials" not in r.headers
    # An <img> load from the allowed site carries only a Referer.
    r = server.get(VERSION, headers={"Sec-Fetch-Site": "cross-site", "Referer": ALLOWED + "/app/"})
    assert r.status_code == 200


def test_allowed_origin_still_needs_the_token(server):
    r = server.get(VERSION, auth=False, headers={"Origin": ALLOWED})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == ALLOWED  # so the page can read the error


def test_static_files_are_not_blocked_cross_site(server):
    assert server.get("/", auth=False, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


# --- CORS preflight ---------------------------------------------------------------------


def test_preflight_for_allowed_origin(server):
    r = server.request(
        "OPTIONS",
        "/dicom/studies",
        auth=False,
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ALLOWED
    allowed_headers = r.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-max-age"] == "86400"
    assert r.headers["access-control-allow-origin"] != "*"


def test_preflight_for_unlisted_origin_fails(server):
    r = server.request(
        "OPTIONS",
        VERSION,
        auth=False,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers


def test_preflight_with_unknown_request_header_fails(server):
    r = server.request(
        "OPTIONS",
        VERSION,
        auth=False,
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-Evil",
        },
    )
    assert r.status_code == 403


def test_wildcard_cors_echoes_origin_and_never_allows_credentials(voxweb):
    srv = voxweb("--cors-origin", "*")
    r = srv.get(VERSION, headers={"Origin": "https://anywhere.example"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://anywhere.example"
    assert "access-control-allow-credentials" not in r.headers


def test_no_cors_headers_without_allow_list(voxweb):
    srv = voxweb()
    r = srv.request(
        "OPTIONS",
        VERSION,
        auth=False,
        headers={"Origin": "https://viewer.example", "Access-Control-Request-Method": "GET"},
    )
    assert r.status_code == 403


# --- body limits and timeouts -----------------------------------------------------------


def test_declared_oversized_body_is_413_before_reading(server):
    # Declare a huge body and send none of it: the answer must come anyway.
    request = (
        f"POST /api/switches HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n"
    ).encode()
    reply = server.raw(request, timeout=5)
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"larger than the limit" in reply


def test_chunked_oversized_body_is_413(server):
    def chunks():
        for _ in range(10):
            yield b"x" * 500

    r = server.post("/api/switches", data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_stalled_body_is_cut_with_408(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST /api/switches HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            ).encode()
        )
        start = time.monotonic()
        reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert time.monotonic() - start < 5


def test_slow_header_is_cut_with_408(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes the header
        start = time.monotonic()
        reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 408")
        assert time.monotonic() - start < 5
        assert sock.recv(65536) == b""  # and the connection is closed


def test_idle_connection_without_a_byte_is_closed(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        start = time.monotonic()
        sock.recv(65536)
        assert sock.recv(65536) == b""
        assert time.monotonic() - start < 5
