"""Mixed load: many clients at once against one server, every operation kind, bounded time.

    .venv/bin/python bench/load.py [--clients 16] [--seconds 60]

Starts ``voxweb serve`` (loopback, exec on, MRHead loaded, a 60-slice CT series stored over
STOW-RS) and runs ``--clients`` threads for ``--seconds``, each picking operations by weight:
slice renders (moving and stateless), 3D renders, QIDO studies, frames, series metadata,
STOW-RS of new instances, and exec. Prints per operation the count, errors, p50 and p99, the
total rate, and the server's peak RSS (VmHWM). Goal (issue 7): 0 errors, bounded memory.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import VoxwebProcess  # noqa: E402
from voxweb.dicom.export import volume_to_part10  # noqa: E402

BOUNDARY = "voxwebload"
STOW_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
FRAME_ACCEPT = "multipart/related; type=application/octet-stream; transfer-syntax=*"


def stow_body(instance: bytes) -> bytes:
    head = f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    return head + instance + f"\r\n--{BOUNDARY}--\r\n".encode()


def make_series(slices: int, patient: str) -> list[bytes]:
    rng = np.random.default_rng(len(patient))
    volume = rng.integers(0, 2000, size=(slices, 64, 64), dtype=np.int16)
    return volume_to_part10(
        volume, np.diag([0.8, 0.8, 2.0, 1.0]), modality="CT", patient_id=patient
    )


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def record(self, op: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.times[op].append(seconds)
            if error:
                self.errors[op].append(error)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        server = VoxwebProcess(
            Path(data_dir),
            ["--auth", "none", "--enable-exec", "--sample", "MRHead", "--no-sample-download"],
        ).start(timeout=60)
        try:
            return run(server, args)
        finally:
            server.stop()


def run(server: VoxwebProcess, args: argparse.Namespace) -> int:
    base = server.url
    series = make_series(60, "LOAD")
    r = requests.post(
        f"{base}/dicom/studies", data=b"".join(stow_body(i)[: -len(f"--{BOUNDARY}--\r\n")] for i in series)
        + f"--{BOUNDARY}--\r\n".encode(), headers={"Content-Type": STOW_TYPE}, timeout=60,
    )  # fmt: skip
    r.raise_for_status()
    first = pydicom.dcmread(io.BytesIO(series[0]), stop_before_pixels=True)
    study, serie = first.StudyInstanceUID, first.SeriesInstanceUID
    sops = [pydicom.dcmread(io.BytesIO(i), stop_before_pixels=True).SOPInstanceUID for i in series]
    pool = iter(make_series(4000, "STOWLOAD"))  # new instances for the STOW operation
    pool_lock = threading.Lock()

    def op_slice(s: requests.Session) -> requests.Response:
        view = random.choice(["Red", "Yellow", "Green"])
        return s.get(
            f"{base}/slicer/slice",
            params={"view": view, "scrollTo": f"{random.random():.3f}", "size": "256"},
        )

    def op_slice_stateless(s: requests.Session) -> requests.Response:
        params = {
            "view": "Red",
            "offset": f"{random.uniform(-60, 60):.1f}",
            "stateless": "1",
            "format": "jpeg",
        }
        return s.get(f"{base}/slicer/slice", params=params)

    def op_threed(s: requests.Session) -> requests.Response:
        return s.get(
            f"{base}/slicer/threeD", params={"lookFromAxis": random.choice("LRAPSI"), "size": "256"}
        )

    def op_qido(s: requests.Session) -> requests.Response:
        return s.get(
            f"{base}/dicom/studies",
            params={"limit": "101", "includefield": "00081030,00080060"},
            headers={"Accept": "application/dicom+json"},
        )

    def op_frames(s: requests.Session) -> requests.Response:
        sop = random.choice(sops)
        return s.get(
            f"{base}/dicom/studies/{study}/series/{serie}/instances/{sop}/frames/1",
            headers={"Accept": FRAME_ACCEPT},
        )

    def op_metadata(s: requests.Session) -> requests.Response:
        return s.get(
            f"{base}/dicom/studies/{study}/series/{serie}/metadata",
            headers={"Accept": "application/dicom+json"},
        )

    def op_stow(s: requests.Session) -> requests.Response:
        with pool_lock:
            instance = next(pool)
        return s.post(
            f"{base}/dicom/studies", data=stow_body(instance), headers={"Content-Type": STOW_TYPE}
        )

    def op_exec(s: requests.Session) -> requests.Response:
        return s.post(f"{base}/slicer/exec", data=b"__execResult = len(scene.nodes())")

    operations = [
        (op_slice, 4), (op_slice_stateless, 3), (op_threed, 1), (op_qido, 3),
        (op_frames, 5), (op_metadata, 2), (op_stow, 1), (op_exec, 2),
    ]  # fmt: skip
    names = [f.__name__[3:] for f, _ in operations]
    weights = [w for _, w in operations]
    stats = Stats()
    deadline = time.monotonic() + args.seconds
    peak = [0]

    def client(seed: int) -> None:
        rng = random.Random(seed)
        session = requests.Session()
        while time.monotonic() < deadline:
            index = rng.choices(range(len(operations)), weights)[0]
            start = time.perf_counter()
            error = None
            try:
                response = operations[index][0](session)
                if response.status_code >= 400:
                    error = f"{response.status_code}: {response.text[:120]}"
            except Exception as exc:  # a dropped connection is an error too
                error = f"{type(exc).__name__}: {exc}"
            stats.record(names[index], time.perf_counter() - start, error)

    def watch_memory() -> None:
        status = Path(f"/proc/{server.proc.pid}/status")
        while time.monotonic() < deadline:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
            time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    threads.append(threading.Thread(target=watch_memory))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    total = sum(len(v) for v in stats.times.values())
    errors = sum(len(v) for v in stats.errors.values())
    print(
        f"{args.clients} clients for {args.seconds:g} s: {total} requests, {total / elapsed:.0f}/s, {errors} errors"
    )
    print(f"{'operation':16} {'count':>7} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for name in names:
        times = sorted(stats.times.get(name, []))
        if not times:
            continue
        p50 = times[len(times) // 2] * 1000
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
        print(
            f"{name:16} {len(times):7d} {len(stats.errors.get(name, [])):7d} {p50:8.1f} {p99:8.1f}"
        )
    print(f"server peak RSS (VmHWM): {peak[0] / 1024:.0f} MiB")
    for name, messages in stats.errors.items():
        print(f"  {name} errors, first: {messages[0]}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
