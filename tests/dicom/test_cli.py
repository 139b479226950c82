"""``voxweb dicom import`` and ``voxweb dicom check`` as a user runs them (real processes)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.http.dicomweb_support import synthetic_series
from voxweb.dicom import DicomDatabase


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voxweb", "dicom", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_folder_zip_duplicates_errors_and_check(tmp_path, index_url, monkeypatch):
    # the index as the environment names it (VOXWEB_DATABASE_URL), like a server's
    if index_url:
        monkeypatch.setenv("VOXWEB_DATABASE_URL", index_url)
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    series = synthetic_series(4, 8, patient_id="CLI1")
    for n, data in enumerate(series[:3]):
        (src / "a" / f"im{n}.dcm").write_bytes(data)
    (src / "notes.txt").write_text("not DICOM")
    with zipfile.ZipFile(src / "more.zip", "w") as zf:
        zf.writestr("x/im3.dcm", series[3])
    data_dir = tmp_path / "data"
    first = run("--data-dir", str(data_dir), "import", str(src))
    assert first.returncode == 1  # one unreadable file
    assert "imported 4 new, 0 replaced, 0 duplicates, 1 failed (5 files)" in first.stdout
    assert "notes.txt" in first.stderr and "5/5 files" in first.stderr
    again = run("--data-dir", str(data_dir), "import", "--quiet", str(src / "a"))
    assert again.returncode == 0 and "0 new, 0 replaced, 3 duplicates" in again.stdout
    ok = run("--data-dir", str(data_dir), "check")
    assert ok.returncode == 0 and "4 instances indexed" in ok.stdout

    db = DicomDatabase(data_dir, index_url=index_url)
    (inst,) = [i for i in db.index.iter_all_instances() if i.sop_uid][:1]
    db.instance_path(inst).unlink()
    db.close()
    bad = run("--data-dir", str(data_dir), "check", "--min-age", "0")
    assert bad.returncode == 1 and f"missing file: {inst.sop_uid}" in bad.stdout
    fixed = run("--data-dir", str(data_dir), "check", "--repair", "--min-age", "0")
    assert fixed.returncode == 0 and "repaired:" in fixed.stdout
    assert run("--data-dir", str(data_dir), "check").returncode == 0


def test_import_link_references_files_in_place(tmp_path, index_url):
    url_args = ["--database-url", index_url] if index_url else []
    src = tmp_path / "linked"
    src.mkdir()
    for n, data in enumerate(synthetic_series(2, 8, patient_id="LINK")):
        (src / f"im{n}.dcm").write_bytes(data)
    data_dir = tmp_path / "data"
    res = run("--data-dir", str(data_dir), "import", *url_args, "--link", str(src))
    assert res.returncode == 0, res.stderr
    db = DicomDatabase(data_dir, index_url=index_url)
    paths = sorted(str(db.instance_path(i)) for i in db.index.iter_all_instances())
    db.close()
    assert paths == sorted(str(p) for p in src.iterdir())


def test_data_dir_after_the_sub_command(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for n, data in enumerate(synthetic_series(2, 8, patient_id="AFTER")):
        (src / f"im{n}.dcm").write_bytes(data)
    after = tmp_path / "after"
    res = run("import", "--data-dir", str(after), "--quiet", str(src))
    assert res.returncode == 0, res.stderr
    assert "imported 2 new" in res.stdout
    checked = run("check", "--data-dir", str(after))
    assert checked.returncode == 0 and "2 instances indexed" in checked.stdout
    # given on both sides, the one after the sub-command is the one used
    other = tmp_path / "other"
    both = run("--data-dir", str(other), "import", "--data-dir", str(after), "--quiet", str(src))
    assert both.returncode == 0 and "2 duplicates" in both.stdout
    assert not (other / "dicom").exists()
