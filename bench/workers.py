"""``voxweb serve --workers N``: DICOMweb throughput with 1, 2 and 4 HTTP processes.

For each configuration a fresh server (own data dir, ``--auth none``, loopback) gets STOW-RS
rounds of new instances from 8 client processes (10 instances per request), then WADO-RS
frame requests from 8 client processes for a few seconds per round; each figure is the median
of the rounds, printed with its ratio to the 1-worker figure. The server's CPU time (every process of the
tree: scene process, workers, ingest processes) over each phase, divided by the requests,
gives the CPU cost per instance and per frame: on a machine with C free cores the throughput
can grow towards C / cost. The cost of the hop to the scene process is measured too: the
median time of ``GET /slicer/mrml`` on a connection the scene process took against one a
worker took (and forwarded), and a 64 MiB NRRD upload both ways.

With ``--orthanc`` (default when ``../shared/tools/orthanc-peer.sh`` and Orthanc are
installed) Orthanc gets the same STOW and WADO rounds, and each voxweb figure is also given
as a ratio to Orthanc's. Loopback only; bounded in time (about 2-3 minutes).

    .venv/bin/python bench/workers.py
    .venv/bin/python bench/workers.py --workers 1 2 --rounds 3 --no-orthanc
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dicomweb import (  # noqa: E402
    DJSON,
    FRAME_ACCEPT,
    ORTHANC_SCRIPT,
    Client,
    Orthanc,
    free_port,
    fresh_copies,
    uids_of,
)

from voxweb.dicom.export import volume_to_part10  # noqa: E402

CHECKOUT = Path(__file__).resolve().parent.parent
CLIENTS = 8  # client processes, one connection each
PER_ROUND = 500  # instances per STOW round
WADO_SECONDS = 3.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- CPU of a process tree ------------------------------------------------------------------
def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += frontier
    return found


def cpu_seconds(root: int) -> float:
    """User + system CPU of ``root`` and every living descendant (and their reaped children)."""
    total = 0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / CLK_TCK


# -- data -----------------------------------------------------------------------------------
def ct_like_instances(n: int) -> list[bytes]:
    """``n`` 256x256 int16 slices (128 KiB of pixels each), one series."""
    k, j, i = np.mgrid[0:n, 0:256, 0:256]
    vol = ((i * 7 + j * 3 + k * 11) % 2000 - 1000).astype(np.int16)
    return volume_to_part10(vol, np.diag([0.7, 0.7, 1.5, 1.0]), patient_id="BENCH")


# -- servers --------------------------------------------------------------------------------
class Voxweb:
    def __init__(self, work: Path, workers: int, ingest: int | None) -> None:
        self.data_dir = Path(tempfile.mkdtemp(dir=work))
        self.workers, self.ingest = workers, ingest
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def label(self) -> str:
        default = "cores+1" if self.workers == 1 else "0"
        ingest = f"{default} (default)" if self.ingest is None else str(self.ingest)
        return f"voxweb {self.workers} worker{'s' if self.workers > 1 else ''}, ingest {ingest}"

    def start(self) -> str:
        self.port = free_port()
        cmd = [sys.executable, "-m", "voxweb", "serve", "--auth", "none", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir), "--workers", str(self.workers)]
        if self.ingest is not None:
            cmd += ["--ingest-processes", str(self.ingest)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXWEB_")}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=CHECKOUT
        )
        url = f"http://127.0.0.1:{self.port}/dicom"
        deadline = time.monotonic() + 60
        seen: set[str] = set()
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/dicom/studies?limit=1")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                seen.add(resp.getheader("x-voxweb-worker") or "0")
                if len(seen) >= self.workers:
                    time.sleep(3.0)  # ingest processes start after the first DICOM request
                    return url
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.label} did not start (workers seen: {sorted(seen)})")

    def cpu(self) -> float:
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)


# -- clients: one process each, so the client side is not one GIL ----------------------------
def _stow_client(base: str, batches: list[list[bytes]], start: float) -> int:
    c = Client(base)
    b = "benchboundary"
    while time.time() < start:
        time.sleep(0.001)
    for batch in batches:
        body = b"".join(
            b"--" + b.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + x + b"\r\n"
            for x in batch
        )
        body += b"--" + b.encode() + b"--\r\n"
        ctype = f'multipart/related; type="application/dicom"; boundary={b}'
        status, data = c.request("POST", "/studies", DJSON, body, ctype)
        if status != 200:
            raise RuntimeError(f"STOW failed: {status} {data[:200]!r}")
    return sum(len(batch) for batch in batches)


def _frame_client(base: str, paths: list[str], start: float, seconds: float) -> int:
    c = Client(base)
    while time.time() < start:
        time.sleep(0.001)
    n = 0
    while time.time() < start + seconds:
        c.get(paths[n % len(paths)], FRAME_ACCEPT)
        n += 1
    return n


def stow_rate(pool: ProcessPoolExecutor, base: str, parts: list[bytes]) -> float:
    batches = [parts[i : i + 10] for i in range(0, len(parts), 10)]
    start = time.time() + 0.5  # every client process is ready, then all begin at once
    futures = [pool.submit(_stow_client, base, batches[k::CLIENTS], start) for k in range(CLIENTS)]
    stored = sum(f.result() for f in futures)
    return stored / (time.time() - start)


def frame_rate(pool: ProcessPoolExecutor, base: str, paths: list[str]) -> tuple[float, int]:
    start = time.time() + 0.5
    futures = [
        pool.submit(_frame_client, base, paths[k::CLIENTS], start, WADO_SECONDS)
        for k in range(CLIENTS)
    ]
    done = sum(f.result() for f in futures)
    return done / (time.time() - start), done


# -- measurements ---------------------------------------------------------------------------
def measure(
    pool: ProcessPoolExecutor,
    base: str,
    rounds: list[list[bytes]],
    cpu: Callable[[], float] | None,
) -> dict[str, float]:
    stow_rates, stow_cpu = [], []
    for parts in rounds:
        c0 = cpu() if cpu else 0.0
        stow_rates.append(stow_rate(pool, base, parts))
        if cpu:
            stow_cpu.append((cpu() - c0) / len(parts) * 1000)
    study, series, sops = uids_of(rounds[0])
    paths = [f"/studies/{study}/series/{series}/instances/{sop}/frames/1" for sop in sops]
    wado_rates, wado_cpu = [], []
    for _ in rounds:
        c0 = cpu() if cpu else 0.0
        rate, done = frame_rate(pool, base, paths)
        wado_rates.append(rate)
        if cpu:
            wado_cpu.append((cpu() - c0) / done * 1000)
    out = {"stow": statistics.median(stow_rates), "wado": statistics.median(wado_rates)}
    if cpu:
        out["stow_cpu_ms"] = statistics.median(stow_cpu)
        out["wado_cpu_ms"] = statistics.median(wado_cpu)
    return out


def _connection_on(port: int, worker: str) -> http.client.HTTPConnection:
    for _ in range(500):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/slicer/mrml")
        resp = conn.getresponse()
        resp.read()
        if resp.getheader("x-voxweb-worker") == worker:
            return conn
        conn.close()
    raise RuntimeError(f"no connection reached worker {worker}")


def hop_cost(port: int, reps: int = 200) -> dict[str, tuple[float, float]]:
    """(direct, forwarded) medians: GET /slicer/mrml in ms, a 64 MiB NRRD upload in MB/s."""
    voxels = (np.arange(64 << 19, dtype=np.int64) % 4000).astype("<i2").tobytes()
    nrrd = (
        b"NRRD0004\ntype: short\ndimension: 3\nsizes: 512 512 128\nendian: little\n"
        b"encoding: raw\nspace: left-posterior-superior\n"
        b"space directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\n\n" + voxels
    )
    out: dict[str, list[float]] = {"mrml": [], "upload": []}
    for worker in ("0", "1"):
        conn = _connection_on(port, worker)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            conn.request("GET", "/slicer/mrml")
            conn.getresponse().read()
            times.append((time.perf_counter() - t0) * 1000)
        out["mrml"].append(statistics.median(times))
        rates = []
        for _ in range(3):
            t0 = time.perf_counter()
            conn.request("POST", "/slicer/volume?id=hop", body=nrrd)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200 or resp.getheader("x-voxweb-worker") != worker:
                raise RuntimeError(f"upload via worker {worker}: {resp.status}")
            rates.append(len(nrrd) / (time.perf_counter() - t0) / 1e6)
        out["upload"].append(statistics.median(rates))
        conn.close()
    return {k: (v[0], v[1]) for k, v in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--rounds", type=int, default=3, help="rounds per figure (median)")
    ap.add_argument("--orthanc", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--orthanc-script", type=Path, default=ORTHANC_SCRIPT)
    args = ap.parse_args()
    use_orthanc = args.orthanc
    if use_orthanc is None:
        use_orthanc = args.orthanc_script.exists() and shutil.which("Orthanc") is not None
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores; {CLIENTS} client processes (on the same cores); {PER_ROUND} instances")
    print(f"(256x256 int16) per STOW round; {args.rounds} rounds per figure, medians\n")

    source = ct_like_instances(PER_ROUND)
    configs: list[tuple[int, int | None]] = []
    for n in args.workers:
        configs.append((n, None))  # the default: cores+1 ingest processes for 1, 0 for more
        if n == 1:
            configs.append((1, 0))
        elif n == 2:
            configs.append((2, 3))
    work = Path(tempfile.mkdtemp(prefix="voxweb-bench-workers-"))
    pool = ProcessPoolExecutor(CLIENTS, mp_context=multiprocessing.get_context("fork"))
    results: dict[str, dict[str, float]] = {}
    hop: dict[str, tuple[float, float]] | None = None
    try:
        for n, ingest in configs:
            server = Voxweb(work, n, ingest)
            base = server.start()
            try:
                rounds = [fresh_copies(source) for _ in range(args.rounds)]
                results[server.label] = measure(pool, base, rounds, server.cpu)
                if n == 2 and ingest is None:
                    hop = hop_cost(server.port)
            finally:
                server.stop()
            print(f"  measured {server.label}", file=sys.stderr)
        if use_orthanc:
            orthanc = Orthanc(work / "orthanc", args.orthanc_script)
            base = orthanc.start()
            try:
                rounds = [fresh_copies(source) for _ in range(args.rounds)]
                results["orthanc"] = measure(pool, base, rounds, None)
            finally:
                orthanc.stop()
    finally:
        pool.shutdown()
        shutil.rmtree(work, ignore_errors=True)

    first = next(iter(results.values()))
    orth = results.get("orthanc")
    head = f"{'server':40} {'STOW inst/s':>11} {'x1':>5} {'CPU ms/inst':>11}"
    head += f" {'WADO frames/s':>13} {'x1':>5} {'CPU ms/frame':>12}"
    if orth:
        head += f" {'STOW/orth':>9} {'WADO/orth':>9}"
    print(head)
    for label, r in results.items():
        line = f"{label:40} {r['stow']:11.0f} {r['stow'] / first['stow']:5.2f} "
        line += f"{r.get('stow_cpu_ms', float('nan')):11.2f} {r['wado']:13.0f} "
        line += f"{r['wado'] / first['wado']:5.2f} {r.get('wado_cpu_ms', float('nan')):12.3f}"
        if orth:
            line += f" {r['stow'] / orth['stow']:9.2f} {r['wado'] / orth['wado']:9.2f}"
        print(line)
    if hop:
        print("\nhop to the scene process (2 workers; direct = scene process took the connection)")
        print(f"{'':40} {'direct':>9} {'forwarded':>9} {'ratio':>6}")
        d, f = hop["mrml"]
        print(f"{'GET /slicer/mrml, median ms':40} {d:9.2f} {f:9.2f} {d / f:6.2f}")
        d, f = hop["upload"]
        print(f"{'64 MiB NRRD upload, MB/s':40} {d:9.0f} {f:9.0f} {f / d:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
