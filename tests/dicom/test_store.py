"""Store: content paths, atomic writes, removal, walking."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from voxweb.dicom.storage import Storage, StorageKeyError
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


def test_store_is_a_storage_and_reads_ranges(tmp_path):
    store = Store(tmp_path / "store")
    assert isinstance(store, Storage)
    key = store.content_key("1.2", "1.3", "1.4", "ef" * 32)
    assert key == Store.relative_path("1.2", "1.3", "1.4", "ef" * 32)
    assert not store.exists(key) and store.size(key) is None
    store.write(key, b"0123456789")
    assert store.exists(key) and store.size(key) == 10 and store.has_file(key, 10)
    assert store.read_ranges(key, [(2, 3), (8, 2)]) == b"23489"
    with store.open(key) as f:
        assert f.read() == b"0123456789"
    assert store.local_path(key) == tmp_path / "store" / key


@pytest.mark.parametrize(
    "key", ["../x.dcm", "ab/../../x.dcm", "ab//x.dcm", "./x.dcm", "ab\\..\\x.dcm", "", "a\x00b"]
)
def test_keys_cannot_leave_the_root(tmp_path, key):
    store = Store(tmp_path / "store")
    with pytest.raises(StorageKeyError):
        store.write(key, b"x")
    with pytest.raises(StorageKeyError):
        store.resolve(key)
    with pytest.raises(StorageKeyError):
        store.remove(key)
    assert not (tmp_path / "x.dcm").exists()


def test_temp_names_carry_host_and_process(tmp_path, monkeypatch):
    """Hosts sharing one folder may run writers with equal pids (containers): temp names
    differ anyway, so no write fails on another host's temp file."""
    store = Store(tmp_path / "store")
    key = store.content_key("1.2", "1.3", "1.4", "ab" * 32)
    seen = []
    real_open = os.open

    def spy(path, *args, **kwargs):
        seen.append(os.path.basename(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    store.write(key, b"x", sync=False)
    tmp_name = next(n for n in seen if n.endswith(".tmp"))
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_")[:32]
    assert tmp_name.startswith(f".{host}-{os.getpid()}-")
