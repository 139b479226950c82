"""Attacks from the same machine or the server's own network (issue 12), each against the real
mechanism: other local users reading the data dir, a symlink swapped into a ``--file-root``
between the check and the open, and IPv6 spellings of internal addresses given to URL fetch.

Where a route is involved a real ``voxweb serve`` process answers; files are real files.
"""

from __future__ import annotations

import io
import os
import stat

import nrrd
import numpy as np

from tests.http.dicomweb_support import multipart_body, synthetic_series
from tests.support.server import VoxwebProcess, wait_for
from tests.support.volumes import nrrd_header_for


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
