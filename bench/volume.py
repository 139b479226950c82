"""Volume exchange and exec round trips over loopback, against a naive baseline in the same run.

    .venv/bin/python bench/volume.py [--size 256] [--repeat 7] [--exec-calls 300]

Starts ``voxweb serve`` (auth off, exec on) on a free port and, as the naive baseline, a
standard-library ``http.server`` that answers GET with the same NRRD bytes and reads POST
bodies whole. Prints the median MB/s of ``GET /slicer/volume`` and ``POST /slicer/volume``
for a size^3 int16 volume, the p50/p90 of a trivial ``/slicer/exec`` round trip, and the ratio
of each to the baseline. Goals (issue 3): >= 1 GB/s each way, exec p50 <= 2 ms.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import nrrd
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import VoxwebProcess  # noqa: E402
from voxweb.server import reuse_large_allocations  # noqa: E402


def make_nrrd(size: int) -> bytes:
    rng = np.random.default_rng(0)
    array = rng.integers(-1024, 3000, size=(size, size, size), dtype=np.int16)
    out = io.BytesIO()
    nrrd.write(out, array, {"space": "left-posterior-superior", "encoding": "raw"}, index_order="C")
    return out.getvalue()


class Baseline(http.server.BaseHTTPRequestHandler):
    """The naive peer: stdlib HTTP server, whole bodies in memory."""

    payload = b""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # otherwise every reply waits ~40 ms for a delayed ACK

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        reply = b"{'status': 'success'}" if body else b""
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class Client:
    """A keep-alive loopback client that reads bodies in one call (requests tops out near
    200 MB/s here, which would measure the client instead of the server)."""

    def __init__(self, base: str) -> None:
        host, port = base.split("//")[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        self.conn.request(method, path, body=body)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path} -> {response.status}: {data[:200]!r}")
        return data


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def mb_per_s(nbytes: int, seconds: list[float]) -> float:
    return nbytes / statistics.median(seconds) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--exec-calls", type=int, default=300)
    args = parser.parse_args()

    # The client reads 30 MB bodies into fresh buffers: let it reuse memory, or its own page
    # faults cap what it can measure (about 1 GB/s here), for both servers alike.
    reuse_large_allocations()
    payload = make_nrrd(args.size)
    Baseline.payload = payload
    baseline = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Baseline)
    threading.Thread(target=baseline.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{baseline.server_address[1]}"

    with tempfile.TemporaryDirectory() as data_dir:
        server = VoxwebProcess(Path(data_dir), ["--auth", "none", "--enable-exec"]).start()
        try:
            ours, naive = Client(server.url), Client(base_url)
            path = "/slicer/volume?id=Bench"
            ours.request("POST", path, payload)  # warm up and create the node
            post = timed(lambda: ours.request("POST", path, payload), args.repeat)
            get = timed(lambda: ours.request("GET", path), args.repeat)
            voxels = args.size**3 * 2
            assert ours.request("GET", path)[-voxels:] == payload[-voxels:]  # same voxels back
            naive_post = timed(lambda: naive.request("POST", "/", payload), args.repeat)
            naive_get = timed(lambda: naive.request("GET", "/"), args.repeat)

            for _ in range(20):
                ours.request("POST", "/slicer/exec", b"__execResult = 1")
            exec_times = timed(
                lambda: ours.request("POST", "/slicer/exec", b"__execResult = 1"), args.exec_calls
            )
            version_times = timed(
                lambda: ours.request("GET", "/slicer/system/version"), args.exec_calls
            )
            naive_rt = timed(lambda: naive.request("POST", "/", b"x"), args.exec_calls)
        finally:
            server.stop()
            baseline.shutdown()

    mb = len(payload) / 1e6
    print(f"volume {args.size}^3 int16 ({mb:.1f} MB), {args.repeat} runs each, medians")
    print(f"{'operation':34} {'voxweb':>12} {'naive':>12} {'ratio':>7}")
    for label, ours, theirs in (
        (
            "GET /slicer/volume (MB/s)",
            mb_per_s(len(payload), get),
            mb_per_s(len(payload), naive_get),
        ),
        (
            "POST /slicer/volume (MB/s)",
            mb_per_s(len(payload), post),
            mb_per_s(len(payload), naive_post),
        ),
    ):
        print(f"{label:34} {ours:12.0f} {theirs:12.0f} {ours / theirs:7.2f}")

    def pct(values, q):
        return sorted(values)[int(q * (len(values) - 1))] * 1000

    print(
        f"{'exec round trip p50 / p90 (ms)':34} {pct(exec_times, 0.5):6.2f}/{pct(exec_times, 0.9):5.2f}"
        f" {pct(naive_rt, 0.5):6.2f}/{pct(naive_rt, 0.9):5.2f} {pct(naive_rt, 0.5) / pct(exec_times, 0.5):7.2f}"
    )
    print(f"{'system/version round trip p50 (ms)':34} {pct(version_times, 0.5):12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
