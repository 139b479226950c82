"""HTTP framing that Slicer's hand-written server gets wrong (spec §1.3), answered correctly."""

from __future__ import annotations

import http.client
import json
import re
import socket

import pytest

from tests.support.server import VoxwebProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(tmp_path_factory.mktemp("proto"), []) as proc:
        yield proc


def test_http_1_0_request_is_answered_and_closed(server):
    reply = server.raw(
        f"GET /slicer/system/version HTTP/1.0\r\nAuthorization: Bearer {server.token}\r\n\r\n".encode()
    )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
    assert json.loads(body)["applicationName"] == "voxweb"


def test_http_1_0_without_host_header_for_static(server):
    reply = server.raw(b"GET / HTTP/1.0\r\n\r\n")
    assert b" 200 " in reply.split(b"\r\n", 1)[0]


def test_head_on_an_api_route(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("HEAD", "/slicer/system/version", headers=server.auth_headers())
    r = conn.getresponse()
    assert r.status == 200
    assert int(r.getheader("content-length")) > 0
    assert r.read() == b""


def test_keep_alive_serves_several_requests_on_one_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for _ in range(5):
        conn.request("GET", "/slicer/system/version", headers=server.auth_headers())
        r = conn.getresponse()
        assert r.status == 200
        r.read()
    sock_before = conn.sock
    conn.request("GET", "/", headers=server.auth_headers())
    conn.getresponse().read()
    assert conn.sock is sock_before  # still the same TCP connection


def test_chunked_request_body_is_read(server):
    body = json.dumps({"dicom": False}).encode()
    request = (
        f"POST /api/switches HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    for i in range(0, len(body), 4):
        piece = body[i : i + 4]
        request += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    request += b"0\r\n\r\n"
    reply = server.raw(request)
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), reply
    assert json.loads(payload)["apis"]["dicom"] is False
    server.post("/api/switches", json={"dicom": True})


def test_header_names_are_case_insensitive(server):
    body = b'{"dicom": true}'
    request = (
        f"POST /api/switches HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {server.token}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body
    reply = server.raw(request)
    assert reply.startswith(b"HTTP/1.1 200"), reply


def test_expect_100_continue(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/api/switches")
    for k, v in {
        **server.auth_headers(),
        "Content-Type": "application/json",
        "Expect": "100-continue",
        "Content-Length": "16",
    }.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.send(b'{"static": true}')
    r = conn.getresponse()
    assert r.status == 200


def test_malformed_request_line_gets_400_not_a_hang(server):
    reply = server.raw(b"GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
    assert reply.startswith(b"HTTP/1.1 400")


def test_other_methods_get_an_answer_not_a_hang(server):
    # Slicer leaves PATCH unanswered; its routes ignore the method, so voxweb answers it.
    reply = server.raw(
        f"PATCH /slicer/system/version HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    assert reply.startswith(b"HTTP/1.1 200")


def test_http_1_0_keep_alive_is_honoured(server):
    request = (
        f"GET /slicer/system/version HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
        f"Authorization: Bearer {server.token}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        replies = []
        for _ in range(2):  # two requests on one connection
            sock.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))
            body = b""
            while len(body) < length:
                body += sock.recv(length - len(body))
            replies.append((head.lower(), body))
    for head, body in replies:
        assert b" 200 " in head.split(b"\r\n")[0] and b"connection: keep-alive" in head
        assert json.loads(body)["applicationName"] == "voxweb"


def test_http_1_0_without_keep_alive_is_closed(server):
    reply = server.raw(
        f"GET /slicer/system/version HTTP/1.0\r\nAuthorization: Bearer {server.token}\r\n\r\n".encode()
    )
    assert b"connection: close" in reply.lower().split(b"\r\n\r\n")[0]
