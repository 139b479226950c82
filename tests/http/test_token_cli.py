"""The token for scripts: kept across restarts, printed by ``voxweb token``, and ``voxweb url``.

Real ``voxweb serve`` processes sharing one data dir, and the real ``voxweb`` command.
"""

from __future__ import annotations

import stat
import subprocess
import sys

import requests

from tests.support.server import VoxwebProcess


def voxweb_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voxweb", *args], capture_output=True, text=True, timeout=60
    )


def serve(data_dir, *args: str) -> VoxwebProcess:
    return VoxwebProcess(data_dir, list(args)).start()


def test_the_token_survives_a_restart_and_new_token_replaces_it(tmp_path):
    data = tmp_path / "data"
    first = serve(data)
    first.stop()
    again = serve(data)
    try:
        assert again.token == first.token  # scripts and bookmarks keep working
        assert again.get("/slicer/system/version").status_code == 200
    finally:
        again.stop()
    fresh = serve(data, "--new-token")
    try:
        assert fresh.token != first.token
        assert (data / "token").read_text().strip() == fresh.token
        assert stat.S_IMODE((data / "token").stat().st_mode) == 0o600
        old = {"Authorization": f"Bearer {first.token}"}
        assert fresh.get("/slicer/system/version", auth=False, headers=old).status_code == 401
    finally:
        fresh.stop()
    explicit = "an-explicit-token-0123456789"
    chosen = serve(data, "--token", explicit)
    try:
        assert chosen.token == explicit  # --token wins over the file
    finally:
        chosen.stop()


def test_an_unusable_token_file_is_not_reused(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "token").write_text("short\n")
    server = serve(data)
    try:
        assert server.token != "short" and len(server.token) >= 22
        assert (data / "token").read_text().strip() == server.token
    finally:
        server.stop()


def test_voxweb_token_prints_the_token_a_script_can_use(tmp_path):
    data = tmp_path / "data"
    server = serve(data)
    try:
        after = voxweb_cli("token", "--data-dir", str(data))
        before = voxweb_cli("--data-dir", str(data), "token")
        assert after.returncode == 0 and before.returncode == 0, after.stderr + before.stderr
        assert after.stdout.strip() == before.stdout.strip() == server.token
        # the curl recipe: -H "Authorization: Bearer $(voxweb token)"
        r = requests.get(
            f"{server.url}/slicer/mrml",
            headers={"Authorization": f"Bearer {after.stdout.strip()}"},
            timeout=10,
        )
        assert r.status_code == 200
        # rotating under a running server would print a token it refuses
        refused = voxweb_cli("token", "--rotate", "--data-dir", str(data))
        assert refused.returncode == 1 and "--new-token" in refused.stderr
        assert (data / "token").read_text().strip() == server.token
    finally:
        server.stop()
    rotated = voxweb_cli("token", "--rotate", "--data-dir", str(data))
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    assert new != server.token and (data / "token").read_text().strip() == new
    restarted = serve(data)
    try:
        assert restarted.token == new
    finally:
        restarted.stop()


def test_voxweb_token_makes_one_before_the_first_start(tmp_path):
    data = tmp_path / "data"
    made = voxweb_cli("token", "--data-dir", str(data))
    assert made.returncode == 0 and "wrote a new token" in made.stderr
    assert stat.S_IMODE((data / "token").stat().st_mode) == 0o600
    server = serve(data)
    try:
        assert server.token == made.stdout.strip()
    finally:
        server.stop()


def test_voxweb_url_prints_the_running_servers_address(tmp_path):
    data = tmp_path / "data"
    server = serve(data)
    try:
        url = voxweb_cli("url", "--data-dir", str(data))
        assert url.returncode == 0, url.stderr
        assert url.stdout.strip() == f"{server.url}/?token={server.token}"
        assert voxweb_cli("--data-dir", str(data), "url").stdout == url.stdout
    finally:
        server.stop()
    gone = voxweb_cli("url", "--data-dir", str(data))
    assert gone.returncode == 1 and "no server is running" in gone.stderr


def test_voxweb_url_without_auth_has_no_token(tmp_path):
    data = tmp_path / "data"
    server = serve(data, "--auth", "none")
    try:
        url = voxweb_cli("url", "--data-dir", str(data))
        assert url.returncode == 0 and url.stdout.strip() == f"{server.url}/"
    finally:
        server.stop()


def test_the_readme_curl_recipe_works(tmp_path):
    """Quick start's curl line, run by a shell against a real server."""
    import re
    import shlex
    import shutil
    from pathlib import Path

    import pytest

    if shutil.which("curl") is None:
        pytest.skip("needs curl")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") : readme.index("## Status")]
    (line,) = [x for x in quick_start.splitlines() if x.startswith("curl ")]
    assert '"Authorization: Bearer $(.venv/bin/voxweb token)"' in line
    data = tmp_path / "data"
    server = serve(data)
    try:
        voxweb = f"{shlex.quote(sys.executable)} -m voxweb --data-dir {shlex.quote(str(data))}"
        command = line.replace(".venv/bin/voxweb", voxweb)
        command = re.sub(r"http://127\.0\.0\.1:2016", server.url, command)
        out = subprocess.run(
            ["sh", "-c", command + " -s -w '\\n%{http_code}'"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.stdout.rstrip().endswith("\n200"), out.stdout[-300:] + out.stderr
        assert out.stdout.startswith("[") and '"Layout"' in out.stdout  # the node names
    finally:
        server.stop()
