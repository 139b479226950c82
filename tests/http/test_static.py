"""The docroot: Slicer's conventions kept, its traversal holes closed (raw paths on the wire)."""

from __future__ import annotations

import os

import pytest
import requests

from tests.support.server import VoxwebProcess

SECRET = "top-secret-outside-the-docroot"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("static")
    root = base / "docroot"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>root index</title>")
    (root / "browse.html").write_text("<!doctype html><title>browse page</title>")
    (root / "app.js").write_text("export const x = 1;\n")
    (root / "style.css").write_text("body{}")
    (root / "data.bin").write_bytes(bytes(range(256)) * 4)
    (root / "with space.txt").write_text("spaced")
    (root / "sub" / "index.htm").write_text("htm index")
    (root / "sub" / "deeper" / "note.txt").write_text("deep")
    (root / "odd.unknownext").write_text("??")
    (base / "secret.txt").write_text(SECRET)
    os.symlink(base / "secret.txt", root / "link-out.txt")
    os.symlink(base, root / "dir-out")
    os.symlink(root / "app.js", root / "link-in.js")
    return root


@pytest.fixture(scope="module")
def server(site, tmp_path_factory):
    with VoxwebProcess(tmp_path_factory.mktemp("staticdata"), ["--docroot", str(site)]) as proc:
        yield proc


def raw_get(server, target: str, method: str = "GET", version: str = "HTTP/1.1") -> bytes:
    return server.raw(
        f"{method} {target} {version}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/etc/passwd",
        "/sub/../../secret.txt",
        "/%252e%252e/secret.txt",
        "//etc/passwd",
        "/..%2fsecret.txt",
        "/..\\secret.txt",
        "/%5c..%5csecret.txt",
        "/index.html%00.txt",
        "/link-out.txt",
        "/dir-out/secret.txt",
        "/./../secret.txt",
    ],
)
def test_traversal_attempts_never_leave_the_docroot(server, target):
    reply = raw_get(server, target)
    assert SECRET.encode() not in reply
    assert b"root:" not in reply
    status = reply.split(b"\r\n", 1)[0]
    assert status in (b"HTTP/1.1 404 Not Found", b"HTTP/1.1 400 Bad Request"), (target, status)


def test_symlink_inside_the_root_is_served(server):
    assert server.get("/link-in.js", auth=False).text.startswith("export")


def test_index_files_and_directory_redirect(server):
    r = server.get("/", auth=False)
    assert r.status_code == 200 and "root index" in r.text
    assert r.headers["content-type"].startswith("text/html")
    r = requests.get(server.url + "/sub", allow_redirects=False, timeout=10)
    assert r.status_code == 301 and r.headers["location"] == "/sub/"
    assert server.get("/sub/", auth=False).text == "htm index"
    assert server.get("/sub/deeper/", auth=False).status_code == 404  # no listing by default


def test_browse_rewrite_serves_browse_html(server):
    for path in ("/browse", "/browse/viewer/1.2.3", "/browse?x=y", "/browser", "/browse.html/x"):
        r = server.get(path, auth=False)
        assert r.status_code == 200 and "browse page" in r.text, path


def test_query_string_is_ignored_and_paths_are_decoded(server):
    assert server.get("/index.html?v=1", auth=False).status_code == 200
    assert server.get("/with%20space.txt", auth=False).text == "spaced"


def test_missing_file_is_an_empty_404(server):
    r = server.get("/nope", auth=False)
    assert r.status_code == 404 and r.content == b""


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("/app.js", "text/javascript"),
        ("/style.css", "text/css"),
        ("/index.html", "text/html"),
        ("/data.bin", "application/octet-stream"),
        ("/odd.unknownext", "application/octet-stream"),
    ],
)
def test_content_types(server, path, ctype):
    r = server.get(path, auth=False)
    assert r.headers["content-type"].split(";")[0] == ctype
    assert r.headers["x-content-type-options"] == "nosniff"


def test_etag_last_modified_and_304(server):
    r = server.get("/app.js", auth=False)
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert server.get("/app.js", auth=False, headers={"If-None-Match": etag}).status_code == 304
    assert (
        server.get("/app.js", auth=False, headers={"If-Modified-Since": modified}).status_code
        == 304
    )
    assert (
        server.get("/app.js", auth=False, headers={"If-None-Match": '"other"'}).status_code == 200
    )


def test_range_requests(server):
    r = server.get("/data.bin", auth=False, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206
    assert r.content == bytes(range(10, 20))
    assert r.headers["content-range"] == "bytes 10-19/1024"


def test_head_has_headers_and_no_body(server):
    reply = raw_get(server, "/data.bin", method="HEAD")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"content-length: 1024" in head.lower()
    assert body == b""


def test_methods_other_than_get_head_are_refused(server):
    assert server.request("DELETE", "/index.html", auth=False).status_code == 405
    assert server.request("POST", "/index.html", auth=False).status_code == 405
    assert server.request("POST", "/nope", auth=False).status_code == 404


def test_directory_listing_when_enabled(voxweb, site):
    srv = voxweb("--docroot", str(site), "--directory-listing")
    r = srv.get("/sub/deeper/", auth=False)
    assert r.status_code == 200 and "note.txt" in r.text
    assert SECRET not in srv.get("/dir-out/", auth=False).text
