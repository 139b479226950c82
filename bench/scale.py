"""QIDO-RS at scale: SQLite against PostgreSQL, side by side, through the real HTTP server.

Both indexes get the same synthetic studies (``voxweb dicom synthesize``; 200,000 studies of
5 instances by default, so 1,000,000 instances), then a ``voxweb serve`` process with token
auth on loopback answers the study-list queries OHIF sends, on each engine in turn (who goes
first alternates by row, so a slow spell of this shared machine lands on both). Each row gives
p50/p95 over ``--reps`` requests after a warm-up: "uncached" requests each differ (an ignored
``_=N`` parameter defeats voxweb's QIDO answer cache, and the PatientID/StudyDate rows vary
the patient and year), "cached" repeats one request (the answer cache follows SQLite's
``data_version`` and PostgreSQL's ``pg_current_snapshot()``). The goal is p50 <= 20 ms on PostgreSQL. The answers of both engines are compared.

    .venv/bin/python bench/scale.py                      # 200,000 studies, both engines
    .venv/bin/python bench/scale.py --studies 20000 --no-postgres
    .venv/bin/python bench/scale.py --work /tmp/scale    # keep (and later reuse) the data

PostgreSQL: a throw-away cluster from ``/usr/lib/postgresql/*/bin`` (``--pg-bin``) in the work
dir, run as the ``postgres`` user when this runs as root, on a free loopback port.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))

from voxweb.dicom import DicomDatabase  # noqa: E402
from voxweb.dicom.bulkload import Plan, synthesize  # noqa: E402

GOAL_MS = 20.0
DJSON = "application/dicom+json"
OHIF_LIST = (
    "/dicom/studies?limit=101&offset=0&fuzzymatching=false"
    "&includefield=00081030%2C00080060%2C00080090%2C00100030"
)


# -- PostgreSQL -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(given: str | None) -> Path:
    if given:
        return Path(given)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not found:
        raise SystemExit("no PostgreSQL server binaries (apt-get install postgresql) or --pg-bin")
    return found[-1].parent


class PostgresCluster:
    """A private cluster in ``directory`` (made on first use), on a free loopback port."""

    def __init__(self, directory: Path, bin_dir: Path) -> None:
        self.dir, self.bin = directory, bin_dir
        self.port = 0
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self.as_user, *cmd], check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        data = self.dir / "data"
        if self.as_user:
            self.dir.mkdir(parents=True, exist_ok=True)
            shutil.chown(self.dir, "postgres", "postgres")
        if not data.exists():
            self._run(
                str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--locale=C.UTF-8",
            )  # fmt: skip
        self.port = free_port()
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"), "-w", "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c full_page_writes=off -c shared_buffers=512MB "
            "-c max_wal_size=4GB",
            "start",
        )  # fmt: skip
        with contextlib.suppress(subprocess.CalledProcessError):  # exists when reused
            self._run(
                str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                "-U", "postgres", "voxweb",
            )  # fmt: skip
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/voxweb"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop")


# -- the server -----------------------------------------------------------------------------
def _serve_has_database_url() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "voxweb", "serve", "--help"],
        capture_output=True,
        text=True,
        cwd=CHECKOUT,
        check=False,
    )
    return "--database-url" in out.stdout


class Server:
    """``voxweb serve`` with token auth on a free loopback port."""

    def __init__(self, data_dir: Path, index_url: str | None) -> None:
        self.data_dir, self.index_url = data_dir, index_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = "bench-" + os.urandom(16).hex()
        self.port = 0

    def start(self) -> None:
        self.port = free_port()
        args = ["serve", "--port", str(self.port), "--port-tries", "1"]
        args += ["--data-dir", str(self.data_dir), "--token", self.token]
        if self.index_url and _serve_has_database_url():
            cmd = [sys.executable, "-m", "voxweb", *args, "--database-url", self.index_url]
        elif self.index_url:
            # Until ``serve --database-url`` exists (branch pg): the same server, its
            # DicomDatabase opened on the given URL.
            cmd = [
                sys.executable,
                "-c",
                "import functools, sys, voxweb.context as c; "
                "c.DicomDatabase = functools.partial(c.DicomDatabase, index_url=sys.argv[1]); "
                "from voxweb.cli import main; raise SystemExit(main(sys.argv[2:]))",
                self.index_url,
                *args,
            ]
        else:
            cmd = [sys.executable, "-m", "voxweb", *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXWEB_")}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=CHECKOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if Client(self.port, self.token).get("/dicom/studies?limit=1"):
                    time.sleep(3.0)  # the first DICOM request starts ingest workers: let them
                    return
            except (OSError, RuntimeError, http.client.HTTPException):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"voxweb exited with {self.proc.returncode}") from None
                time.sleep(0.2)
        raise RuntimeError("voxweb did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


class Client:
    """One keep-alive connection with the token."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, path: str) -> bytes:
        headers = {"Accept": DJSON, "Authorization": f"Bearer {self.token}"}
        self.conn.request("GET", path, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status not in (200, 204):
            raise RuntimeError(f"GET {path} -> {resp.status}: {data[:300]!r}")
        return data


# -- the queries ----------------------------------------------------------------------------
def query_rows(plan: Plan, pids: list[str]) -> list[tuple[str, Callable[[int], str]]]:
    """``(name, n -> path)``: each call with a new ``n`` is a new request (uncached)."""
    deep = min(100_000, max(0, plan.studies - 101))
    return [
        ("OHIF study list", lambda n: f"{OHIF_LIST}&_={n}"),
        ("PatientName=Smith*", lambda n: f"/dicom/studies?limit=101&PatientName=Smith%2A&_={n}"),
        (
            "StudyDate=<year>0101-<year>1231",
            lambda n: (
                f"/dicom/studies?limit=101&StudyDate={2001 + n % 24}0101-{2001 + n % 24}1231&_={n}"
            ),
        ),
        (
            "PatientID=<one of 50>",
            lambda n: f"/dicom/studies?PatientID={pids[n % len(pids)]}&_={n}",
        ),
        (f"offset={deep}", lambda n: f"/dicom/studies?limit=101&offset={deep}&_={n}"),
    ]


def percentiles(fn: Callable[[int], object], reps: int, warmup: int) -> tuple[float, float]:
    for n in range(warmup):
        fn(10**6 + n)
    times = []
    for n in range(reps):
        t0 = time.perf_counter()
        fn(n)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def study_uids(body: bytes) -> list[str]:
    return [i["0020000D"]["Value"][0] for i in json.loads(body or b"[]")]


def measure(
    servers: dict[str, Server], plan: Plan, reps: int
) -> dict[str, dict[str, tuple[float, float, float]]]:
    """``{row: {engine: (p50, p95, cached p50)}}``; also checks both engines agree."""
    clients = {name: Client(s.port, s.token) for name, s in servers.items()}
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    some = next(iter(clients.values())).get(f"/dicom/studies?limit=50&offset={plan.studies // 3}")
    pids = [i["00100020"]["Value"][0] for i in json.loads(some)]
    for i, (row, path) in enumerate(query_rows(plan, pids)):
        answers = {name: study_uids(c.get(path(7))) for name, c in clients.items()}
        if len({tuple(a) for a in answers.values()}) > 1:
            raise RuntimeError(f"{row}: the engines answer differently: {answers}")
        if not next(iter(answers.values())):
            raise RuntimeError(f"{row}: no study matches {path(7)}")
        order = list(clients) if i % 2 == 0 else list(reversed(clients))
        results[row] = {}
        for name in order:
            c = clients[name]
            p50, p95 = percentiles(lambda n, c=c, path=path: c.get(path(n)), reps, 5)
            fixed = path(0)
            cached, _ = percentiles(lambda _n, c=c, fixed=fixed: c.get(fixed), reps, 2)
            results[row][name] = (p50, p95, cached)
    return results


# -- the run --------------------------------------------------------------------------------
def load(db: DicomDatabase, plan: Plan, engine: str) -> None:
    if db.index.counts()["studies"] >= plan.studies:
        print(f"# {engine}: reusing the {plan.studies} studies already indexed")
        return

    def progress(done) -> None:  # noqa: ANN001
        print(
            f"\r# {engine}: {done.studies}/{plan.studies} studies, {done.instances} instances, "
            f"{done.rows_per_second:,.0f} rows/s",
            end="",
            file=sys.stderr,
            flush=True,
        )

    done = synthesize(db, plan, progress)
    print(file=sys.stderr)
    print(
        f"# {engine}: synthesized {done.studies:,} studies, {done.instances:,} instances, "
        f"{done.patients:,} patients in {done.seconds:.1f} s "
        f"({done.rows_per_second:,.0f} rows/s, {done.instances / done.seconds:,.0f} instances/s)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--studies", type=int, default=200_000, help="default 200000")
    ap.add_argument("--series-per-study", type=int, default=1, help="default 1")
    ap.add_argument("--instances-per-series", type=int, default=5, help="default 5")
    ap.add_argument("--reps", type=int, default=50, help="requests per row and engine (50)")
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument("--pg-bin", help="PostgreSQL server binaries (default: the newest installed)")
    ap.add_argument("--work", type=Path, help="work dir, kept and reused (default: a temp dir)")
    args = ap.parse_args()
    plan = Plan(args.studies, args.series_per_study, args.instances_per_series)

    work = args.work or Path(tempfile.mkdtemp(prefix="voxweb-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# work dir {work}; {os.cpu_count()} cores; {plan.studies:,} studies x "
          f"{plan.series_per_study} series x {plan.instances_per_series} instances")  # fmt: skip
    cluster: PostgresCluster | None = None
    servers: dict[str, Server] = {}
    try:
        engines: list[tuple[str, Path, str | None]] = []
        if not args.no_sqlite:
            engines.append(("sqlite", work / "sqlite", None))
        if not args.no_postgres:
            cluster = PostgresCluster(work / "pg", _pg_bin(args.pg_bin))
            engines.append(("postgresql", work / "pgdata", cluster.start()))
        for engine, data_dir, url in engines:
            db = DicomDatabase(data_dir, index_url=url, fsync=False)
            try:
                load(db, plan, engine)
            finally:
                db.close()
            servers[engine] = Server(data_dir, url)
            servers[engine].start()
        before = os.getloadavg()[0]
        results = measure(servers, plan, args.reps)
        print(f"# load average {before:.1f} before measuring, {os.getloadavg()[0]:.1f} after")
    finally:
        for s in servers.values():
            s.stop()
        if cluster is not None:
            cluster.stop()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    names = list(servers)
    print()
    head = f"{'query (limit=101 unless exact)':34}"
    for n in names:
        head += f" {n[:6] + ' p50':>11} {'p95':>7} {'cached':>7}"
    if len(names) == 2:
        head += f" {'pg/sqlite':>9} {'goal':>6}"
    print(head)
    for row, per in results.items():
        line = f"{row:34}"
        for n in names:
            p50, p95, cached = per[n]
            line += f" {p50:11.2f} {p95:7.2f} {cached:7.2f}"
        if "postgresql" in per:
            if len(names) == 2:
                line += f" {per['postgresql'][0] / per['sqlite'][0]:8.2f}x"
            line += "   ok" if per["postgresql"][0] <= GOAL_MS else "   MISSED"
        print(line)
    print(
        "(ms over HTTP; p50/p95: every request new to the QIDO answer cache; cached: one "
        f"request repeated; goal: PostgreSQL p50 <= {GOAL_MS:.0f} ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
