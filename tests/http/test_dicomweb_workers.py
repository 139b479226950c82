"""STOW-RS in worker processes: stored by them, same answers, a killed worker is replaced."""

from __future__ import annotations

import glob
import os
import signal
import time

import pytest

from tests.http.dicomweb_support import multipart_body, synthetic_series, uids
from tests.support.server import VoxwebProcess

JSON = {"Accept": "application/dicom+json"}


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        with open(path) as f:
            out += [int(c) for c in f.read().split()]
    return out


def _workers(pid: int) -> list[int]:
    """The ingest workers among the children (multiprocessing also starts a resource tracker)."""
    out = []
    for child in _children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"spawn_main" in f.read():
                    out.append(child)
        except OSError:
            continue
    return out


def _workers_when(pid: int, count: int, within: float = 10.0) -> list[int]:
    """The workers once there are ``count`` of them (or after ``within`` seconds)."""
    deadline = time.monotonic() + within
    while len(found := _workers(pid)) != count and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def _stow(server: VoxwebProcess, parts: list[bytes]):
    body, ctype = multipart_body(parts)
    return server.post("/dicom/studies", data=body, headers={**JSON, "Content-Type": ctype})


def _stored(server: VoxwebProcess, parts: list[bytes]) -> bool:
    study, series, _ = uids(parts[0])
    found = server.get(f"/dicom/studies/{study}/series/{series}/instances", headers=JSON)
    return found.status_code == 200 and len(found.json()) == len(parts)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_workers_store_and_a_killed_worker_is_replaced(tmp_path):
    with VoxwebProcess(tmp_path, ["--auth", "none", "--ingest-processes", "2"]) as server:
        assert _children(server.proc.pid) == []  # started on first use
        first = synthetic_series(4)
        answer = _stow(server, first)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["00081199"]["Value"]) == 4
        assert _stored(server, first)
        workers = _workers_when(server.proc.pid, 2)  # started one after the other
        assert len(workers) == 2, workers

        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        second = synthetic_series(3)
        answer = _stow(server, second)  # the broken pool is noticed; nothing is lost
        assert answer.status_code == 200, answer.text
        assert _stored(server, second)
        third = synthetic_series(2)
        assert _stow(server, third).status_code == 200
        assert _stored(server, third)
        replaced = _workers(server.proc.pid)
        assert replaced and not set(replaced) & set(workers), (workers, replaced)


def test_no_workers_when_switched_off(tmp_path):
    with VoxwebProcess(tmp_path, ["--auth", "none", "--ingest-processes", "0"]) as server:
        parts = synthetic_series(3)
        assert _stow(server, parts).status_code == 200
        assert _stored(server, parts)
        assert _children(server.proc.pid) == []


def test_worker_count_is_validated(tmp_path):
    proc = VoxwebProcess(tmp_path, ["--ingest-processes", "-1"]).start(expect_url=False)
    assert proc.wait_exit() != 0
    assert "ingest_processes must be between 0 and 64" in proc.output()


def _gone(pids: list[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(os.path.exists(f"/proc/{pid}") for pid in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_end_with_the_server(tmp_path, sig):
    server = VoxwebProcess(tmp_path, ["--auth", "none", "--ingest-processes", "2"]).start()
    try:
        assert _stow(server, synthetic_series(2)).status_code == 200
        workers = _children(server.proc.pid)  # the workers and multiprocessing's tracker
        assert _workers(server.proc.pid)
        server.proc.send_signal(sig)
        assert server.proc.wait(15) == -sig  # still ends the way the signal asks
        assert _gone(workers, 5.0), [p for p in workers if os.path.exists(f"/proc/{p}")]
        if sig == signal.SIGTERM:  # a clean shutdown also removes the discovery file
            assert not (tmp_path / "server.json").exists()
    finally:
        server.stop()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_an_embedded_server_starts_no_workers_unless_asked(tmp_path):
    # spawned workers would import the embedding script's __main__ again: opt-in only
    import requests

    import voxweb

    before = set(_children(os.getpid()))
    server = voxweb.Server(voxweb.Settings(port=0, data_dir=tmp_path, auth="none")).start()
    try:
        body, ctype = multipart_body(synthetic_series(2))
        answer = requests.post(
            server.url.rstrip("/") + "/dicom/studies",
            data=body,
            headers={**JSON, "Content-Type": ctype},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert set(_children(os.getpid())) == before
    finally:
        server.stop()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_serve_starts_one_worker_per_core_plus_one(tmp_path):
    cores = len(os.sched_getaffinity(0))
    with VoxwebProcess(tmp_path, ["--auth", "none"]) as server:
        assert _stow(server, synthetic_series(2)).status_code == 200
        expected = min(cores, 4) + 1 if cores > 1 else 0
        assert len(_workers_when(server.proc.pid, expected)) == expected
