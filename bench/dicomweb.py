"""DICOMweb benchmark: voxweb against Orthanc (+ DICOMweb plugin), side by side, loopback only.

Both servers get the same data over STOW-RS (a 181-slice head MR series made from Colin27 with
``voxweb.dicom.export``, plus a few small studies) and stay up; then the same client measures
each operation on one server and right after on the other (who goes first alternates by row)
and prints voxweb's median, Orthanc's median and the ratio (>1 means voxweb is faster), so a
slow spell of this shared machine lands on both figures of a row. The STOW-RS row comes last:
rounds of 100 new instances alternate between the servers. A second voxweb data dir with
10,000 synthetic studies measures
the scale queries, and a second Orthanc gets the same 50,000 instances over STOW-RS for the
same queries (about two minutes; ``--no-scale-orthanc`` skips it). Everything is bounded in
time (``--seconds`` per throughput row).

    .venv/bin/python bench/dicomweb.py            # needs: apt-get install orthanc orthanc-dicomweb curl gcc
    .venv/bin/python bench/dicomweb.py --no-orthanc   # voxweb only

Orthanc is started with ``../shared/tools/orthanc-peer.sh`` next to the checkout (or
``--orthanc-script``).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voxweb.dicom.export import volume_to_part10  # noqa: E402

COLIN27 = Path("/usr/share/mricron/templates/ch2.nii.gz")
CHECKOUT = Path(__file__).resolve().parent.parent
ORTHANC_SCRIPT = CHECKOUT.parent / "shared" / "tools" / "orthanc-peer.sh"
STOW_ROUNDS = 11  # STOW-RS rounds of 100 new instances, alternating between the peers; medians
STOW_ROW = "STOW-RS instances/s (4 threads, 10/request)"
WARM_UP_S = 3.0  # after voxweb answers its first DICOM request
FRAME_ACCEPT = "multipart/related; type=application/octet-stream; transfer-syntax=*"
DJSON = "application/dicom+json"


# -- a keep-alive client --------------------------------------------------------------------
def _parse_headers(fp, _class=http.client.HTTPMessage):  # noqa: ANN001, ANN202
    """``http.client.parse_headers`` without the email package's MIME parser.

    For every ``multipart/related`` answer that parser compiles a regular expression for the
    boundary: 0.37 ms of client CPU per request, more than either server spends on one frame,
    which hid the servers' difference in the latency rows. Both peers use this client.
    """
    msg = _class()
    for line in http.client._read_headers(fp):
        name, _, value = line.decode("iso-8859-1").partition(":")
        msg[name.strip()] = value.strip()
    return msg


http.client.parse_headers = _parse_headers


class Client:
    """One persistent HTTP/1.1 connection (one per thread)."""

    def __init__(self, base: str) -> None:
        u = urlsplit(base)
        self.host, self.port, self.prefix = u.hostname or "127.0.0.1", u.port or 80, u.path
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(
        self,
        method: str,
        path: str,
        accept: str | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> tuple[int, bytes]:
        headers = {"Host": f"{self.host}:{self.port}"}
        if accept:
            headers["Accept"] = accept
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            try:
                self.conn.request(method, self.prefix + path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, accept: str | None = None) -> bytes:
        status, data = self.request("GET", path, accept)
        if status != 200:
            raise RuntimeError(f"GET {path} -> {status}: {data[:200]!r}")
        return data


def median_ms(fn: Callable[[], object], reps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def throughput(
    make: Callable[[Client], Callable[[int], object]], base: str, threads: int, seconds: float
) -> float:
    """Requests per second with ``threads`` clients for about ``seconds``."""
    counts = [0] * threads
    stop = time.perf_counter() + seconds
    errors: list[BaseException] = []

    def run(k: int) -> None:
        c = Client(base)
        fn = make(c)
        n = k
        try:
            while time.perf_counter() < stop:
                fn(n)
                n += threads
                counts[k] += 1
        except BaseException as exc:  # report, do not hang
            errors.append(exc)

    ts = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    return sum(counts) / (time.perf_counter() - t0)


def ab_rate(ab: str, url: str, clients: int, seconds: float) -> float:
    """Requests/s measured by ApacheBench with keep-alive (``-k``) for about ``seconds``."""
    out = subprocess.run(
        [
            ab,
            "-q",
            "-k",
            "-c",
            str(clients),
            "-t",
            str(seconds),
            "-n",
            "10000000",
            "-H",
            f"Accept: {FRAME_ACCEPT}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    for line in out.stdout.splitlines():
        if line.startswith("Non-2xx responses"):
            raise RuntimeError(f"ab: {line}")
        if line.startswith("Requests per second:"):
            return float(line.split()[3])
    raise RuntimeError(f"ab failed: {out.stdout[-400:]} {out.stderr[-400:]}")


# -- data -----------------------------------------------------------------------------------
def head_series() -> list[bytes]:
    if COLIN27.exists():
        import nibabel as nib

        img = nib.load(str(COLIN27))
        vol = np.ascontiguousarray(np.transpose(np.asarray(img.dataobj), (2, 1, 0))).astype(
            np.int16
        )
        affine = img.affine
    else:  # a synthetic head-sized volume when mricron-data is missing
        print(
            "note: mricron-data not installed; using a synthetic 181x217x181 volume",
            file=sys.stderr,
        )
        k, j, i = np.mgrid[0:181, 0:217, 0:181]
        vol = ((i * 7 + j * 3 + k) % 900).astype(np.int16)
        affine = np.eye(4)
    return volume_to_part10(
        vol,
        affine,
        patient_name="Colin^Head",
        patient_id="COLIN27",
        study_description="Head MRI",
        series_description="Colin27 T1",
        study_date="20000101",
    )


def small_studies(n: int = 4) -> list[bytes]:
    out: list[bytes] = []
    for s in range(n):
        vol = (np.arange(8 * 64 * 64).reshape(8, 64, 64) % (300 + s)).astype(np.int16)
        out += volume_to_part10(
            vol,
            np.diag([1.0, 1.0, 3.0, 1.0]),
            patient_name=f"Smith^P{s}",
            patient_id=f"S{s}",
            study_description="Brain MRI",
            study_date=f"2020010{s + 1}",
        )
    return out


def fresh_copies(parts: list[bytes]) -> list[bytes]:
    """The same instances with new UIDs (a second STOW round must not hit duplicates)."""
    import pydicom
    from pydicom.uid import generate_uid

    study, series = generate_uid(), generate_uid()
    out = []
    for p in parts:
        ds = pydicom.dcmread(io.BytesIO(p))
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        out.append(buf.getvalue())
    return out


def stow(base: str, parts: list[bytes], threads: int = 4, per_request: int = 10) -> float:
    """Store ``parts`` with ``threads`` clients, ``per_request`` instances per POST; inst/s."""
    batches = [parts[i : i + per_request] for i in range(0, len(parts), per_request)]
    lock = threading.Lock()
    errors: list[str] = []

    def run() -> None:
        c = Client(base)
        while True:
            with lock:
                if not batches:
                    return
                batch = batches.pop()
            b = "benchboundary"
            body = (
                b"".join(
                    b"--"
                    + b.encode()
                    + b"\r\nContent-Type: application/dicom\r\n\r\n"
                    + x
                    + b"\r\n"
                    for x in batch
                )
                + b"--"
                + b.encode()
                + b"--\r\n"
            )
            status, data = c.request(
                "POST",
                "/studies",
                DJSON,
                body,
                f'multipart/related; type="application/dicom"; boundary={b}',
            )
            if status != 200:
                errors.append(f"{status} {data[:200]!r}")

    t0 = time.perf_counter()
    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise RuntimeError(f"STOW failed: {errors[0]}")
    return len(parts) / (time.perf_counter() - t0)


# -- servers --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Voxweb:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXWEB_")}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "voxweb",
                "serve",
                "--auth",
                "none",
                "--port",
                str(port),
                "--data-dir",
                str(self.data_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
        )
        self.url = f"http://127.0.0.1:{port}/dicom"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                Client(self.url).get("/studies?limit=1")
                # that first DICOM request starts the ingest workers in the background (about
                # 0.6 s of CPU each): measure once they are up, not while they import
                time.sleep(WARM_UP_S)
                return self.url
            except (OSError, RuntimeError):
                time.sleep(0.1)
        raise RuntimeError("voxweb did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Orthanc:
    def __init__(self, data_dir: Path, script: Path) -> None:
        self.data_dir, self.script = data_dir, script
        self.url = ""

    def start(self) -> str:
        out = subprocess.run(
            ["bash", str(self.script), "start", str(free_port()), str(self.data_dir)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(f"orthanc-peer failed: {out.stderr.strip()}")
        self.url = out.stdout.strip().splitlines()[-1] + "/dicom-web"
        return self.url

    def stop(self) -> None:
        subprocess.run(
            ["bash", str(self.script), "stop", str(self.data_dir)], capture_output=True, timeout=60
        )


# -- the run --------------------------------------------------------------------------------
def uids_of(parts: list[bytes]) -> tuple[str, str, list[str]]:
    import pydicom

    sops = []
    for p in parts:
        ds = pydicom.dcmread(io.BytesIO(p), stop_before_pixels=True)
        sops.append(str(ds.SOPInstanceUID))
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), sops


def row_plan(
    base: str,
    study: str,
    series: str,
    sops: list[str],
    args: argparse.Namespace,
    cold: bool = False,
) -> dict[str, Callable[[], float]]:
    """Every row but STOW-RS for one server, to run later; ``cold`` adds voxweb's uncached
    QIDO rows."""
    c = Client(base)
    reps = args.reps
    n = iter(range(10**9))
    mid = sops[len(sops) // 2]
    plan: dict[str, Callable[[], float]] = {
        "QIDO studies (ms)": lambda: median_ms(lambda: c.get("/studies", DJSON), reps)
    }
    if cold:
        plan["QIDO studies, uncached (ms)"] = lambda: median_ms(
            lambda: c.get(f"/studies?_={next(n)}", DJSON), reps
        )
        plan["QIDO instances of the series, uncached (ms)"] = lambda: median_ms(
            lambda: c.get(f"/studies/{study}/series/{series}/instances?_={next(n)}", DJSON), reps
        )
    plan["QIDO instances of the series (ms)"] = lambda: median_ms(
        lambda: c.get(f"/studies/{study}/series/{series}/instances", DJSON), reps
    )
    plan["series metadata (ms)"] = lambda: median_ms(
        lambda: c.get(f"/studies/{study}/series/{series}/metadata", DJSON), reps
    )
    plan["one frame (ms)"] = lambda: median_ms(
        lambda: c.get(f"/studies/{study}/series/{series}/instances/{mid}/frames/1", FRAME_ACCEPT),
        reps * 4,
    )

    def frame_getter(cl: Client) -> Callable[[int], object]:
        return lambda n: cl.get(
            f"/studies/{study}/series/{series}/instances/{sops[n % len(sops)]}/frames/1",
            FRAME_ACCEPT,
        )

    def frames_per_second(t: int) -> Callable[[], float]:
        ab = shutil.which("ab")
        if ab:  # a native client: Python client threads would cap both servers alike
            url = f"{base}/studies/{study}/series/{series}/instances/{mid}/frames/1"
            return lambda: ab_rate(ab, url, t, args.seconds)
        return lambda: throughput(frame_getter, base, t, args.seconds)

    for t in (1, 4, 16):
        plan[f"frames/s, {t} client(s)"] = frames_per_second(t)
    return plan


def run_rows(plans: dict[str, dict[str, Callable[[], float]]]) -> dict[str, dict[str, float]]:
    """Each row on each server in turn (who goes first alternates), so that a slow spell of
    this shared machine lands on both servers' figures of a row, not on one server's."""
    results: dict[str, dict[str, float]] = {name: {} for name in plans}
    first = next(iter(plans.values()))
    for i, row in enumerate(first):
        order = list(plans) if i % 2 == 0 else list(reversed(plans))
        for name in order:
            if row in plans[name]:
                results[name][row] = plans[name][row]()
    return results


def stow_rows(bases: dict[str, str], rounds: list[list[bytes]]) -> dict[str, list[float]]:
    """STOW-RS rates per peer, one round each in turn (the first peer alternates).

    Alternating keeps a slow minute of this shared machine from landing on one peer only;
    each peer gets the same instances (new UIDs per round, so no round hits duplicates).
    """
    rates: dict[str, list[float]] = {name: [] for name in bases}
    for i, batch in enumerate(rounds):
        order = list(bases.items())
        for name, base in order if i % 2 == 0 else reversed(order):
            rates[name].append(stow(base, batch))
    return rates


SCALE_QUERIES = [
    (
        "OHIF study list",
        "/studies?limit=101&offset=0&fuzzymatching=false"
        "&includefield=00081030%2C00080060%2C00080090%2C00100030",
        10,
    ),
    ("PatientName=Smith*", "/studies?limit=101&PatientName=Smith%2A", 15),
    ("StudyDate range", "/studies?limit=101&StudyDate=20150101-20151231", 10),
    ("exact PatientID", None, 2),
    ("offset=5000", "/studies?limit=101&offset=5000", 15),
]


def scale_queries(
    base: str, pid: str, reps: int, *, cold: bool
) -> dict[str, tuple[float, float | None]]:
    """``{query: (median ms, cached median ms or None)}``; ``cold`` defeats voxweb's QIDO cache."""
    c = Client(base)
    bust = iter(range(10**9))
    out: dict[str, tuple[float, float | None]] = {}
    for name, path, _goal in SCALE_QUERIES:
        p = path or f"/studies?PatientID={pid}"
        if cold:  # an unknown parameter makes each request new to voxweb's answer cache
            warm = median_ms(lambda p=p: c.get(p, DJSON), reps)
            out[name] = (median_ms(lambda p=p: c.get(f"{p}&_={next(bust)}", DJSON), reps), warm)
        else:
            out[name] = (median_ms(lambda p=p: c.get(p, DJSON), reps), None)
    return out


def scale(
    work: Path, args: argparse.Namespace, orthanc: Orthanc | None
) -> tuple[dict[str, tuple[float, float | None]], dict[str, tuple[float, float | None]] | None]:
    """The scale queries on 10,000 synthetic studies, in voxweb and (when given) Orthanc."""
    from voxweb.dicom import DicomDatabase
    from voxweb.dicom.synthetic import populate_synthetic, synthetic_instances

    data = work / "scale"
    db = DicomDatabase(data, fsync=False)
    t0 = time.perf_counter()
    n = populate_synthetic(db, 10_000, series_per_study=1, instances_per_series=5)
    pid = db.search_studies({"limit": "1", "offset": "4321"})[0]["00100020"]["Value"][0]
    db.close()
    print(f"# scale: {n} instances in 10,000 studies indexed in {time.perf_counter() - t0:.1f} s")
    server = Voxweb(data)
    try:
        vox = scale_queries(server.start(), pid, args.reps, cold=True)
    finally:
        server.stop()
    if orthanc is None:
        return vox, None
    try:
        base = orthanc.start()
        t0 = time.perf_counter()
        parts = list(synthetic_instances(10_000, series_per_study=1, instances_per_series=5))
        rate = stow(base, parts, threads=4, per_request=100)
        print(
            f"# scale: the same {len(parts)} instances stored in Orthanc in "
            f"{time.perf_counter() - t0:.0f} s ({rate:.0f} inst/s)"
        )
        return vox, scale_queries(base, pid, args.reps, cold=False)
    finally:
        orthanc.stop()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=3.0, help="per throughput row (default 3)")
    ap.add_argument("--reps", type=int, default=30, help="repetitions per latency row (default 30)")
    ap.add_argument("--no-orthanc", action="store_true", help="measure voxweb only")
    ap.add_argument("--no-scale", action="store_true", help="skip the 10,000-study queries")
    ap.add_argument(
        "--no-scale-orthanc",
        action="store_true",
        help="run the 10,000-study queries in voxweb only (loading Orthanc takes a minute or two)",
    )
    ap.add_argument("--orthanc-script", type=Path, default=ORTHANC_SCRIPT)
    ap.add_argument("--keep", action="store_true", help="keep the temporary data dirs")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="voxweb-bench-dicomweb-"))
    print(f"# work dir {work}; {os.cpu_count()} cores")
    head = head_series()
    extra = small_studies()
    stow_rounds = [fresh_copies(head[:100]) for _ in range(STOW_ROUNDS)]
    study, series, sops = uids_of(head)
    print(
        f"# data: head series {len(head)} slices ({sum(map(len, head)) >> 20} MiB), "
        f"{len(extra)} more instances in {len(extra) // 8} studies"
    )

    peers: list[tuple[str, object]] = [("voxweb", Voxweb(work / "voxweb"))]
    if not args.no_orthanc:
        if shutil.which("Orthanc") is None:
            print("# Orthanc not installed: measuring voxweb only", file=sys.stderr)
        else:
            peers.append(("orthanc", Orthanc(work / "orthanc", args.orthanc_script)))
    bases: dict[str, str] = {}
    try:
        for name, peer in peers:
            base = bases[name] = peer.start()  # type: ignore[attr-defined]
            load = stow(base, head + extra)
            print(f"# {name}: loaded {len(head) + len(extra)} instances at {load:.0f} inst/s")
        plans = {
            name: row_plan(base, study, series, sops, args, cold=name == "voxweb")
            for name, base in bases.items()
        }
        results = run_rows(plans)
        for name, rates in stow_rows(bases, stow_rounds).items():
            results[name][STOW_ROW] = statistics.median(rates)
            print(f"# {name}: STOW-RS rounds {min(rates):.0f} to {max(rates):.0f} inst/s")
        for _, peer in peers:
            peer.stop()  # type: ignore[attr-defined]
    finally:
        for _, peer in peers:
            with contextlib.suppress(Exception):
                peer.stop()  # type: ignore[attr-defined]

    vox = results["voxweb"]
    orth = results.get("orthanc")
    print()
    print(f"{'operation':48} {'voxweb':>10} {'orthanc':>10} {'ratio':>7}")
    for key, v in vox.items():
        o = orth.get(key) if orth else None
        if o is None:
            print(f"{key:48} {v:10.2f} {'-':>10} {'-':>7}")
            continue
        per_second = "/s" in key
        ratio = v / o if per_second else o / v
        print(f"{key:48} {v:10.2f} {o:10.2f} {ratio:6.2f}x")
    print("(ratio = how many times faster voxweb is; latency rows are medians in ms)")

    if not args.no_scale:
        peer = None
        if orth is not None and not args.no_scale_orthanc:
            peer = Orthanc(work / "orthanc-scale", args.orthanc_script)
        vox_scale, orth_scale = scale(work, args, peer)
        print()
        print(
            f"{'scale query, 10,000 studies':28} {'voxweb':>9} {'cached':>9} {'orthanc':>9} "
            f"{'ratio':>7} {'goal ms':>8}"
        )
        for name, _path, goal in SCALE_QUERIES:
            cold_ms, warm_ms = vox_scale[name]
            o = orth_scale[name][0] if orth_scale else None
            verdict = "ok" if cold_ms <= goal else "MISSED"
            peer_cols = f"{o:9.2f} {o / cold_ms:6.1f}x" if o else f"{'-':>9} {'-':>7}"
            print(
                f"{name:28} {cold_ms:9.2f} {warm_ms or 0:9.2f} {peer_cols} {goal:8.0f}  {verdict}"
            )
        print("(voxweb = uncached median: every request new to its QIDO answer cache)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
