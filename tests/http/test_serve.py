"""``voxweb serve`` as a real process: port choice, flags, files, precedence, HTTPS, shutdown."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time

import pytest
import requests

from tests.support.server import VoxwebProcess, free_port, wait_for


def test_prints_one_url_with_token_and_writes_private_token_file(voxweb):
    server = voxweb()
    url_lines = [line for line in server.lines if "serving at" in line]
    assert len(url_lines) == 1
    assert server.token and len(server.token) >= 22  # >= 128 bits in url-safe base64
    token_file = server.data_dir / "token"
    assert token_file.read_text().strip() == server.token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    # The printed URL opens the control panel (it moves the token into a cookie).
    r = requests.get(f"{server.url}/?token={server.token}", timeout=10)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]


def test_busy_port_falls_through_to_the_next_free_one(voxweb):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        server = voxweb(port=busy)
        assert server.port != busy and busy < server.port < busy + 50
        assert any(f"port {busy} is busy; using {server.port}" in line for line in server.lines)
        assert server.get("/slicer/system/version").status_code == 200


def test_all_ports_busy_is_a_clear_failure(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        proc = VoxwebProcess(tmp_path, ["--port-tries", "1"], port=busy).start(expect_url=False)
        assert proc.wait_exit() == 1
        assert "no free port" in proc.output()


def test_precedence_flag_over_env_over_file(voxweb, tmp_path):
    ports = [free_port() for _ in range(3)]
    cfg = tmp_path / "voxweb.toml"
    cfg.write_text(f"port = {ports[0]}\n")
    server = voxweb("--config", str(cfg), port=None)
    assert server.port == ports[0]
    server = voxweb("--config", str(cfg), port=None, env={"VOXWEB_PORT": str(ports[1])})
    assert server.port == ports[1]
    server = voxweb("--config", str(cfg), port=ports[2], env={"VOXWEB_PORT": str(ports[1])})
    assert server.port == ports[2]


def test_auth_none_refused_on_non_loopback(tmp_path):
    proc = VoxwebProcess(tmp_path, ["--auth", "none", "--host", "0.0.0.0"]).start(expect_url=False)
    assert proc.wait_exit() == 2
    assert "only allowed when binding a loopback" in proc.output()


def test_auth_none_on_loopback_needs_no_token(voxweb):
    server = voxweb("--auth", "none")
    assert server.token is None
    assert server.get("/slicer/system/version", auth=False).status_code == 200
    assert not (server.data_dir / "token").exists()


def test_fixed_token_flag(voxweb):
    token = "a-fixed-token-for-tests-0123456789"
    server = voxweb("--token", token)
    assert server.token == token
    assert (
        server.get(
            "/api/status", headers={"Authorization": f"token {token}"}, auth=False
        ).status_code
        == 200
    )


def test_disable_flags_fall_through_to_static_404(voxweb):
    server = voxweb("--disable-slicer", "--disable-dicom")
    assert server.get("/slicer/system/version").status_code == 404
    assert server.get("/dicom/studies").status_code == 404
    status = server.get("/api/status").json()
    assert status["apis"] == {"slicer": False, "dicom": False, "static": True, "exec": False}
    server = voxweb("--disable-static")
    assert server.get("/").status_code == 404
    assert server.get("/slicer/system/version").status_code == 200


def test_exec_flag(voxweb):
    off = voxweb()
    r = off.post("/slicer/exec", data="__execResult = 1")
    assert r.status_code == 500 and r.json()["success"] is False
    assert r.json()["message"].startswith("Server error: unknown command \"b'/exec'\"")
    assert "exec (remote Python) is switched off" in r.json()["message"]
    assert "--enable-exec" in r.json()["message"]
    on = voxweb("--enable-exec")
    assert on.get("/api/status").json()["exec_allowed"] is True
    r = on.get("/slicer/exec?source=1")
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_log_console_prints_access_lines_without_token(voxweb):
    server = voxweb("--log-console")
    server.get(f"/slicer/system/version?token={server.token}", auth=False)
    line = wait_for(
        lambda: next((x for x in server.lines if "GET /slicer/system/version" in x), None),
        what="an access log line",
    )
    assert server.token not in line and "token=***" in line
    quiet = voxweb()
    quiet.get("/slicer/system/version")
    assert not any("GET /slicer/system/version" in x for x in quiet.lines)


def test_docroot_and_directory_listing_flags(voxweb, tmp_path):
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "hello.txt").write_text("hello")
    (root / "sub" / "a.txt").write_text("a")
    server = voxweb("--docroot", str(root))
    assert server.get("/hello.txt").text == "hello"
    assert server.get("/sub/").status_code == 404
    server = voxweb("--docroot", str(root), "--directory-listing")
    listing = server.get("/sub/")
    assert listing.status_code == 200 and "a.txt" in listing.text


def test_static_auth_flag(voxweb):
    server = voxweb("--static-auth")
    assert server.get("/", auth=False).status_code == 401
    assert server.get("/").status_code == 200


def test_delete_system_shuts_down_gracefully_and_needs_auth(voxweb):
    server = voxweb()
    assert server.request("DELETE", "/system", auth=False).status_code == 401
    assert server.proc.poll() is None
    r = server.request("DELETE", "/system")  # slicerio's stop_server() path
    assert r.status_code == 200 and r.json() == {"success": True}
    assert server.wait_exit(15) == 0
    assert not (server.data_dir / "server.json").exists()

    other = voxweb()
    r = other.request("DELETE", "/slicer/system")
    assert r.json() == {"success": True}
    assert other.wait_exit(15) == 0


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def test_https_with_self_signed_certificate(voxweb, tmp_path):
    certfile, keyfile = _self_signed(tmp_path)
    server = voxweb("--certfile", str(certfile), "--keyfile", str(keyfile))
    assert server.url.startswith("https://")
    r = server.get("/slicer/system/version", verify=str(certfile))
    assert r.status_code == 200 and r.json()["applicationName"] == "voxweb"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.url + "/", timeout=10)  # not trusted without the CA
    # The token cookie is Secure over HTTPS.
    r = requests.get(
        f"{server.url}/?token={server.token}",
        verify=str(certfile),
        allow_redirects=False,
        timeout=10,
    )
    assert "Secure" in r.headers["set-cookie"]
    # Plain HTTP on the TLS port does not get an answer as HTTP.
    context = ssl.create_default_context(cafile=str(certfile))
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_cli_version_and_help():
    out = subprocess.run(
        [sys.executable, "-m", "voxweb", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("voxweb ")
    helptext = subprocess.run(
        [sys.executable, "-m", "voxweb", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for flag in (
        "--host",
        "--port",
        "--docroot",
        "--data-dir",
        "--auth",
        "--token",
        "--enable-exec",
        "--disable-slicer",
        "--disable-dicom",
        "--disable-static",
        "--cors-origin",
        "--certfile",
        "--keyfile",
        "--log-console",
        "--open",
        "--config",
    ):
        assert flag in helptext


def test_open_flag_launches_the_browser_with_the_token_url(voxweb, tmp_path):
    # Point Python's webbrowser module at a script that records the URL it is given.
    recorder = tmp_path / "browser.sh"
    seen = tmp_path / "opened.txt"
    recorder.write_text(f'#!/bin/sh\necho "$1" > {seen}\n')
    recorder.chmod(0o755)
    env = {"BROWSER": str(recorder), "PATH": os.environ.get("PATH", "")}
    server = voxweb("--open", env=env)
    opened = wait_for(
        lambda: seen.exists() and seen.read_text().strip(), what="the browser to be opened"
    )
    assert opened == f"{server.url}/?token={server.token}"


def test_ctrl_c_with_an_open_log_stream_stops_promptly(voxweb):
    server = voxweb()
    stream = server.get("/api/log/stream", stream=True)
    assert stream.status_code == 200
    next(stream.iter_content(chunk_size=None))  # the stream is open and has spoken
    start = time.monotonic()
    server.proc.send_signal(signal.SIGINT)
    assert server.wait_exit(15) == 0  # Ctrl-C is the normal way to stop: no "Error 130"
    assert time.monotonic() - start < 3
    assert "timeout graceful shutdown exceeded" not in server.output()
    stream.close()


def test_log_stream_tells_a_reconnecting_client_about_a_clear_it_missed(voxweb):
    server = voxweb()
    server.get("/slicer/system/version")
    seen = server.get("/api/log").json()["last_seq"]
    server.post("/api/log/clear")
    stream = server.get("/api/log/stream", stream=True, headers={"Last-Event-ID": str(seen)})
    text = ""
    for chunk in stream.iter_content(chunk_size=None):
        text += chunk.decode()
        if "event: clear" in text:
            break
    stream.close()
    assert "event: clear" in text
