"""``voxweb dicomweb``: only the DICOM area answers, with serve's security, and /healthz."""

from __future__ import annotations

import subprocess
import sys

from tests.dicom.helpers import make_instance
from tests.http.dicomweb_support import multipart_body
from tests.support.server import VoxwebProcess

TOKEN = "service-test-token-0123456789"


def test_dicom_only_with_token_and_host_checks(tmp_path):
    (tmp_path / "secret").write_text(TOKEN + "\n")
    storage = tmp_path / "shared-storage"
    proc = VoxwebProcess(
        tmp_path / "data",
        command="dicomweb",
        args=["--token-file", str(tmp_path / "secret"), "--storage", str(storage)],
    )
    with proc:
        proc.token = TOKEN
        assert "DICOMweb only" in proc.output() and TOKEN not in proc.output()
        assert proc.get("/dicom/studies", auth=False).status_code == 401
        assert proc.get("/dicom/studies").json() == []
        # nothing but DICOM: no scene, no exec, no native API, no pages
        for path in ("/slicer/mrml", "/slicer/exec", "/system", "/api/", "/", "/index.html"):
            assert proc.get(path).status_code == 404, path
        assert proc.post("/slicer/exec", data=b"print(1)").status_code == 404
        # DNS-rebinding defence as in serve; the probe answers any Host and no token
        assert proc.get("/dicom/studies", headers={"Host": "evil.example"}).status_code == 403
        probe = proc.get("/healthz", auth=False, headers={"Host": "10.0.0.7:2016"})
        assert (probe.status_code, probe.text) == (200, "ok\n")
        # STOW lands in the storage folder given
        body, ctype = multipart_body([make_instance()])
        assert proc.post("/dicom/studies", data=body, headers={"Content-Type": ctype}).ok
        assert len(list(storage.rglob("*.dcm"))) == 1
        # the probe says so when the shared folder is gone, and recovers with it
        storage.rename(tmp_path / "unmounted")
        assert proc.get("/healthz", auth=False).status_code == 503
        (tmp_path / "unmounted").rename(storage)
        assert proc.get("/healthz", auth=False).status_code == 200


def test_refuses_unsafe_or_unusable_settings(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "voxweb", "dicomweb", "--data-dir", str(tmp_path), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    open_bind = run("--host", "0.0.0.0", "--auth", "none", "--port", "0")
    assert open_bind.returncode == 2 and "loopback" in open_bind.stderr
    no_db = run("--database-url", "sqlite:////nonexistent/dir/index.sqlite", "--port", "0")
    assert no_db.returncode == 1 and "cannot open the DICOM database" in no_db.stderr
