"""The Makefile's first-hour targets, checked with ``make -n`` (prints, runs nothing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def dry_run(*args: str) -> str:
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_runs_the_venvs_voxweb_with_the_data_dir():
    out = dry_run("import", "DIR=/scans/head", "DATA_DIR=/tmp/vox")
    assert ".venv/bin/voxweb dicom --data-dir /tmp/vox import /scans/head" in out
    assert ".venv/bin/voxweb dicom  import /scans/head" in dry_run("import", "DIR=/scans/head")


def test_ohif_serves_the_cached_build():
    out = dry_run("ohif", "ARGS=--port 2017")
    assert ".venv/bin/voxweb serve" in out and "--ohif .cache/ohif/package/dist" in out
    assert "--port 2017" in out


def test_serve_token_and_url_targets():
    assert "--data-dir /tmp/vox" in dry_run("serve", "DATA_DIR=/tmp/vox")
    assert ".venv/bin/voxweb token" in dry_run("token")
    assert ".venv/bin/voxweb url" in dry_run("url")


def test_each_variable_is_defaulted_once():
    lines = (ROOT / "Makefile").read_text().splitlines()
    defaults = [line.split("?=")[0].strip() for line in lines if "?=" in line]
    assert len(defaults) == len(set(defaults)), defaults
