"""``voxweb serve --workers 2``: two processes on one port, one scene, over real HTTP.

Each response says which process took the connection (``X-Voxweb-Worker``: 0 is the scene
process, 1 the other worker); a ``requests.Session`` keeps its connection, so a session
whose first answer came from worker 1 sends everything through the forwarding hop.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests

from tests.http.dicomweb_support import multipart_body, synthetic_series, uids
from tests.http.test_serve import _self_signed
from tests.support.server import VoxwebProcess, wait_for
from tests.support.volumes import ramp, raw_nrrd

WORKER = "x-voxweb-worker"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("workers")
    with VoxwebProcess(
        data_dir, ["--workers", "2", "--enable-exec", "--no-sample-download"]
    ) as srv:
        session_on(srv, "1").close()  # the second worker is up
        yield srv


def child_pids(pid: int) -> set[int]:
    """Living processes whose parent is ``pid`` (from /proc/*/stat)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def session_on(
    server: VoxwebProcess, worker: str, auth: bool = True, verify: object = True
) -> requests.Session:
    """A session whose connection was accepted by ``worker``.

    Connections are opened 8 at a time: one after another, an idle server's connections
    may all go to whichever process wakes first, while concurrent ones spread.
    """

    def open_one(_: int) -> requests.Session:
        session = requests.Session()
        session.verify = verify
        session.trust_env = False  # else REQUESTS_CA_BUNDLE would override ``verify``
        if auth:
            session.headers.update(server.auth_headers())
        session.worker = session.get(server.url + "/index.html", timeout=10).headers.get(WORKER)
        return session

    deadline = time.monotonic() + 15
    with ThreadPoolExecutor(8) as pool:
        while time.monotonic() < deadline:
            sessions = list(pool.map(open_one, range(8)))
            chosen = next((s for s in sessions if s.worker == worker), None)
            for session in sessions:
                if session is not chosen:
                    session.close()
            if chosen is not None:
                return chosen
    raise AssertionError(f"no connection reached worker {worker}")


def test_new_connections_land_on_both_processes(server):
    def one(_: int) -> str:
        r = server.get("/dicom/studies?limit=1")  # a new connection; answered where it lands
        assert r.status_code == 200
        return r.headers[WORKER]

    seen: set[str] = set()
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            seen |= set(pool.map(one, range(80)))
            if seen == {"0", "1"}:
                break
    assert seen == {"0", "1"}


def test_scene_change_is_seen_through_every_connection(server):
    via_worker = session_on(server, "1")
    array = ramp((3, 4, 5))
    r = via_worker.post(server.url + "/slicer/volume?id=shared-scene", data=raw_nrrd(array))
    assert r.status_code == 200 and r.headers[WORKER] == "1"

    def new_connection_sees_it(_: int) -> str:
        r = server.get("/slicer/mrml")  # a new connection, taken by either process
        assert "shared-scene" in r.text
        return r.headers[WORKER]

    seen: set[str] = set()
    with ThreadPoolExecutor(8) as pool:
        for _ in range(10):
            seen |= set(pool.map(new_connection_sees_it, range(40)))
            if seen == {"0", "1"}:
                break
    assert seen == {"0", "1"}


def test_exec_runs_in_the_scene_process(server):
    via_worker = session_on(server, "1")
    r = via_worker.post(server.url + "/slicer/exec", data=b"import os\n__execResult = os.getpid()")
    assert r.status_code == 200 and r.headers[WORKER] == "1"
    assert r.json() == server.proc.pid  # the process that printed the URL holds the scene
    scene_pid = json.loads((server.data_dir / "server.json").read_text())["pid"]
    assert scene_pid == server.proc.pid


def test_log_stream_on_a_worker_gets_the_scene_processes_events(server):
    via_worker = session_on(server, "1")
    events: list[str] = []
    got = threading.Event()
    marker = f"stream-marker-{time.time_ns()}"
    with via_worker.get(server.url + "/api/log/stream", stream=True, timeout=30) as stream:
        assert stream.headers[WORKER] == "1"
        assert stream.headers["content-type"].startswith("text/event-stream")

        def read() -> None:
            for line in stream.iter_lines():
                events.append(line.decode())
                if marker in events[-1]:
                    got.set()
                    return

        threading.Thread(target=read, daemon=True).start()
        via_scene = session_on(server, "0")
        r = via_scene.post(server.url + f"/slicer/volume?id={marker}", data=raw_nrrd(ramp()))
        assert r.status_code == 200
        assert got.wait(10), f"no event for the scene change; got {events[-5:]}"
    assert any(e.startswith("event: log") for e in events)


def test_large_volume_round_trips_through_a_worker(server):
    via_worker = session_on(server, "1")
    array = (np.arange(64 << 19, dtype=np.int64) * 7919 % 65521 - 32000).astype("<i2")
    array = array.reshape(128, 512, 512)  # 64 MiB of voxels
    body = raw_nrrd(array)
    r = via_worker.post(server.url + "/slicer/volume?id=big", data=body, timeout=120)
    assert r.status_code == 200 and r.headers[WORKER] == "1", r.text
    r = via_worker.get(server.url + "/slicer/volume?id=big", timeout=120)
    assert r.status_code == 200 and r.headers[WORKER] == "1"
    voxels = array.nbytes
    assert r.content[-voxels:] == array.tobytes()
    assert (
        r.content[:-voxels].startswith(b"NRRD0004\n") and b"sizes: 512 512 128" in r.content[:500]
    )


def test_chunked_upload_head_and_early_refusal_through_a_worker(server):
    via_worker = session_on(server, "1")
    body = raw_nrrd(ramp((4, 5, 6)))
    pieces = (body[i : i + 7] for i in range(0, len(body), 7))  # requests sends it chunked
    r = via_worker.post(server.url + "/slicer/volume?id=chunked", data=pieces)
    assert r.status_code == 200 and r.headers[WORKER] == "1", r.text
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    r = via_worker.head(server.url + "/slicer/volume?id=chunked")
    assert r.status_code == 200 and r.content == b"" and r.headers[WORKER] == "1"
    r = via_worker.get(server.url + "/slicer/volume?id=chunked")  # the session goes on
    assert r.content.endswith(ramp((4, 5, 6)).astype("<i2").tobytes())
    # a large body without the token gets its 401 through the worker as well
    anonymous = session_on(server, "1", auth=False)
    started = time.monotonic()
    r = anonymous.post(server.url + "/slicer/volume?id=nope", data=b"x" * (256 << 20))
    assert r.status_code == 401
    assert time.monotonic() - started < 20


def test_stow_on_both_processes_then_qido_sees_all(server):
    studies = []
    for worker, pid in (("0", "W0"), ("1", "W1")):
        session = session_on(server, worker)
        parts = synthetic_series(slices=3, size=8, patient_id=pid)
        body, content_type = multipart_body(parts)
        r = session.post(
            server.url + "/dicom/studies", data=body, headers={"Content-Type": content_type}
        )
        assert r.status_code == 200 and r.headers[WORKER] == worker, r.text
        studies.append(uids(parts[0])[0])
    for worker in ("0", "1"):
        r = session_on(server, worker).get(server.url + "/dicom/studies")
        found = {s["0020000D"]["Value"][0] for s in r.json()}
        assert set(studies) <= found
        assert r.headers[WORKER] == worker


def test_token_is_required_on_the_worker(server):
    anonymous = session_on(server, "1", auth=False)
    for path in ("/slicer/mrml", "/api/status", "/dicom/studies"):
        r = anonymous.get(server.url + path)
        assert r.status_code == 401, path
        assert r.headers[WORKER] == "1"
    r = anonymous.get(server.url + "/slicer/mrml", headers={"Authorization": "Bearer wrong-token"})
    assert r.status_code == 401
    r = anonymous.post(server.url + "/slicer/exec", data=b"__execResult = 1")
    assert r.status_code == 401


def test_foreign_host_and_origin_are_refused_on_the_worker(server):
    via_worker = session_on(server, "1")
    r = via_worker.get(server.url + "/slicer/mrml", headers={"Host": "evil.example:80"})
    assert r.status_code == 403 and r.headers[WORKER] == "1"
    r = via_worker.get(server.url + "/slicer/mrml", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.headers[WORKER] == "1"


def _raw_unix(path: Path, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


def test_forward_socket_is_private_and_wants_the_run_secret(server):
    path = server.data_dir / f"scene-{server.proc.pid}.sock"
    assert path.is_socket()
    assert path.stat().st_mode & 0o777 == 0o600
    token = server.token.encode()
    for extra in (b"", b"x-voxweb-forward-secret: guessed\r\n"):
        answer = _raw_unix(
            path,
            b"POST /slicer/exec HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            + token
            + b"\r\n"
            + extra
            + b"Content-Length: 16\r\nConnection: close\r\n\r\n__execResult = 1",
        )
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]


def test_switches_apply_to_every_process(server):
    via_worker = session_on(server, "1")
    assert via_worker.get(server.url + "/dicom/studies").status_code == 200
    assert server.post("/api/switches", json={"dicom": False}).status_code == 200
    try:
        r = via_worker.get(server.url + "/dicom/studies")
        assert r.status_code == 404 and r.headers[WORKER] == "1"
    finally:
        server.post("/api/switches", json={"dicom": True})
    assert via_worker.get(server.url + "/dicom/studies").status_code == 200


def test_worker_logs_reach_the_control_panel_log(server):
    via_worker = session_on(server, "1")
    marker = f"logmarker{time.time_ns()}"
    assert via_worker.get(server.url + f"/dicom/studies?PatientID={marker}").status_code == 200

    def logged() -> bool:
        entries = server.get("/api/log").json()["entries"]
        return any(marker in e["message"] and "[worker 1]" in e["message"] for e in entries)

    wait_for(logged, 5, what="the worker's access line in the scene process's log")


def test_https_same_origin_requests_pass_through_a_worker(tmp_path):
    certfile, keyfile = _self_signed(tmp_path)
    args = ["--workers", "2", "--certfile", str(certfile), "--keyfile", str(keyfile)]
    with VoxwebProcess(tmp_path / "data", args) as srv:
        assert srv.url.startswith("https://")
        via_worker = session_on(srv, "1", verify=str(certfile))
        # the scene process sees the scheme the worker saw: its own https origin is same-origin
        origin = f"https://127.0.0.1:{srv.port}"
        r = via_worker.post(srv.url + "/api/log/clear", headers={"Origin": origin})
        assert r.status_code == 200 and r.headers[WORKER] == "1", r.text
        r = via_worker.post(srv.url + "/api/log/clear", headers={"Origin": "https://evil.example"})
        assert r.status_code == 403


def test_a_killed_worker_is_replaced(tmp_path):
    with VoxwebProcess(tmp_path / "data", ["--workers", "2"]) as srv:
        # killed at first sight, often before it has read its settings
        first = wait_for(lambda: child_pids(srv.proc.pid), 10, 0.001, what="the worker")
        os.kill(next(iter(first)), signal.SIGKILL)
        second = wait_for(
            lambda: (p := child_pids(srv.proc.pid)) and p != first and p, 10, what="a new worker"
        )
        assert len(second) == 1
        session_on(srv, "1")  # the new worker answers
        assert "ended (signal 9); starting it again" in srv.get("/api/log").text


def test_a_worker_that_keeps_dying_stops_the_server(tmp_path):
    with VoxwebProcess(tmp_path / "data", ["--workers", "2"]) as srv:
        killed: set[int] = set()

        def next_worker() -> set[int] | bool:
            return (child_pids(srv.proc.pid) - killed) or srv.proc.poll() is not None

        while srv.proc.poll() is None and len(killed) < 10:
            new = wait_for(
                next_worker,
                10,
                0.005,
                what="the next worker",
            )
            if new is True:
                break
            for pid in new:
                os.kill(pid, signal.SIGKILL)
            killed |= new
        assert srv.wait_exit(15) == 1
        assert len(killed) == 5
        assert "worker 1 ended 5 times within 60 s (last: signal 9); stopping the server" in (
            srv.output()
        )


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL", "api"])
def test_stopping_the_scene_process_stops_every_worker(tmp_path, how):
    with VoxwebProcess(tmp_path / "data", ["--workers", "3"]) as srv:
        workers = wait_for(
            lambda: p if len(p := child_pids(srv.proc.pid)) == 2 else None, 10, what="workers"
        )
        assert srv.output().count("serving at") == 1
        via_worker = session_on(srv, "1")
        # a log stream open through a worker must not hold the shutdown up
        stream = via_worker.get(srv.url + "/api/log/stream", stream=True, timeout=30)
        assert stream.status_code == 200
        if how == "api":
            r = session_on(srv, "2").post(srv.url + "/api/shutdown")
            assert r.status_code == 200 and r.headers[WORKER] == "2"
        else:
            srv.proc.send_signal(getattr(signal, how))
        srv.wait_exit(15)
        wait_for(lambda: not any(alive(p) for p in workers), 10, what="the workers to end")
        stream.close()
        if how != "SIGKILL":
            assert not list((tmp_path / "data").glob("scene-*.sock"))
            assert not (tmp_path / "data" / "server.json").exists()
