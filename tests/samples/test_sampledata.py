"""Sample data: the downloader against a real local HTTP server, cache, checksums, offline copies."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest

from voxweb.io.sampledata import SAMPLES, SampleDataError, SampleSource, fetch


class _Files(http.server.SimpleHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802
        type(self).hits.append(self.path)
        super().do_GET()


@pytest.fixture
def file_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    _Files.hits = []
    handler = lambda *a, **kw: _Files(*a, directory=str(root), **kw)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}", _Files.hits
    httpd.shutdown()


def test_download_is_verified_cached_and_reused(file_server, tmp_path):
    root, base, hits = file_server
    payload = b"NRRD0004\n" + bytes(range(256)) * 100
    (root / "thing.nrrd").write_bytes(payload)
    source = SampleSource(
        "Thing",
        "thing.nrrd",
        hashlib.sha256(payload).hexdigest(),
        "Thing",
        url=base + "/thing.nrrd",
    )
    cache = tmp_path / "cache"
    path, _, how = fetch("Thing", cache, registry={"Thing": source})
    assert how == "download" and path.read_bytes() == payload
    path, _, how = fetch("Thing", cache, registry={"Thing": source})
    assert how == "cache" and hits == ["/thing.nrrd"]  # one download only


def test_checksum_mismatch_leaves_nothing_behind(file_server, tmp_path):
    root, base, _ = file_server
    (root / "bad.nrrd").write_bytes(b"not what was promised")
    source = SampleSource("Bad", "bad.nrrd", "0" * 64, "Bad", url=base + "/bad.nrrd")
    with pytest.raises(SampleDataError, match="checksum mismatch"):
        fetch("Bad", tmp_path / "cache", registry={"Bad": source})
    assert not any((tmp_path / "cache").iterdir())


def test_unreachable_source_without_offline_copy_says_what_was_tried(tmp_path):
    source = SampleSource("Gone", "gone.nrrd", "0" * 64, "Gone", url="http://127.0.0.1:9/gone.nrrd")
    with pytest.raises(
        SampleDataError, match="download from http://127.0.0.1:9/gone.nrrd failed.*no offline copy"
    ):
        fetch("Gone", tmp_path, registry={"Gone": source})


def test_unknown_name_uses_slicers_message(tmp_path):
    with pytest.raises(SampleDataError, match="^sampledata Nope was not found$"):
        fetch("Nope", tmp_path)


def test_mrhead_offline_is_a_real_head_mri(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    path, source, how = fetch("MRHead", tmp_path, allow_download=False)
    assert how == "offline" and source.node_name == "MRHead"
    image = nibabel.load(path)
    assert len(image.shape) == 3 and min(image.shape) >= 150  # a whole head, not a toy cube
    data = image.get_fdata()
    assert data.std() > 0 and (data > data.mean()).mean() > 0.05


def test_registry_has_slicers_names_and_checksums():
    for name in ("MRHead", "CTChest", "CTACardio", "DTIBrain", "MRBrainTumor1", "MRBrainTumor2"):
        source = SAMPLES[name]
        assert len(source.sha256) == 64
        assert source.download_url.endswith(source.sha256)
