"""Store: content paths, atomic writes, removal, walking."""

from __future__ import annotations

from pathlib import Path

from voxweb.dicom.store import Store


def test_paths_and_atomic_write(tmp_path):
    store = Store(tmp_path / "store")
    rel = Store.relative_path("1.2.3", "1.2.3.4", "1.2.3.4.5", "ab" * 32)
    assert rel == Store.relative_path("1.2.3", "1.2.3.4", "1.2.3.4.5", "ab" * 32)
    assert rel != Store.relative_path("1.2.3", "1.2.3.4", "1.2.3.4.5", "cd" * 32)
    assert ".." not in rel and rel.endswith(".dcm") and len(rel.split("/")) == 4
    path = Path(store.write(rel, b"hello"))
    assert path.read_bytes() == b"hello"
    store.write(rel, b"world")  # replace in place, atomically
    assert path.read_bytes() == b"world"
    assert list(store.iter_files()) == [rel]
    assert list(store.iter_temp_files()) == []
    store.remove(rel)
    assert not path.exists()
    assert list((tmp_path / "store").iterdir()) == []  # emptied dirs removed


def test_linked_paths_never_removed(tmp_path):
    store = Store(tmp_path / "store")
    outside = tmp_path / "outside.dcm"
    outside.write_bytes(b"x")
    assert store.resolve(str(outside)) == outside
    store.remove(str(outside))
    assert outside.exists()
    assert store.resolve("ab/c.dcm") == Path(tmp_path / "store" / "ab" / "c.dcm")
