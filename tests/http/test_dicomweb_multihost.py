"""Two ``voxweb dicomweb`` processes on one database and one storage folder ("two hosts").

Real processes over real HTTP. Eight client threads send overlapping STOW-RS requests (the
same instances to both processes, and different ones, mixed, plus same-UID-different-bytes
pairs sent to both at once); after each store the *other* process must find the instances
in QIDO at once. Then both processes must agree with what was sent: studies, series and
instance counts, NumberOfStudyRelated*, and the SHA-256 of every instance retrieved with
WADO-RS. The database URL comes from the ``database_url`` fixture (SQLite and PostgreSQL,
see there).
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import queue
import random
import threading
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pydicom
import pytest
import requests

from tests.dicom.helpers import make_instance
from tests.http.dicomweb_support import multipart_body, split_multipart
from tests.support.server import VoxwebProcess

TOKEN = "multihost-test-token-0123456789"
DICOM_JSON = {"Accept": "application/dicom+json"}
N_STUDIES, N_SERIES, N_INSTANCES = 6, 2, 5  # 60 instances
N_CONFLICTS = 3  # SOPInstanceUIDs sent with different bytes to both processes at once
CLIENT_THREADS = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The shared index of both processes: an SQLite file, or a fresh (empty) database in
    the session's PostgreSQL cluster (tests/conftest.py)."""
    if request.param == "sqlite":
        (tmp_path / "shared").mkdir(mode=0o700)
        yield f"sqlite:///{tmp_path / 'shared' / 'index.sqlite'}"
        return
    cluster = request.getfixturevalue("postgres_cluster")
    url = cluster.create_database()
    try:
        yield url
    finally:
        cluster.drop_database(url)


@pytest.fixture
def two_hosts(tmp_path, database_url):
    """Two dicomweb processes, each with its own data dir, sharing index and storage.

    They start at the same moment on the empty database (both create the schema); one
    ingests in a worker process, the other in the server process: both paths race.
    """
    storage = tmp_path / "storage"
    hosts = [
        VoxwebProcess(
            tmp_path / f"host-{name}",
            command="dicomweb",
            args=[
                "--database-url",
                database_url,
                "--storage",
                str(storage),
                "--token",
                TOKEN,
                "--ingest-processes",
                workers,
            ],
        )
        for name, workers in (("a", "1"), ("b", "0"))
    ]
    try:
        with ThreadPoolExecutor(len(hosts)) as pool:
            list(pool.map(lambda proc: proc.start(timeout=60), hosts))
        for proc in hosts:
            proc.token = TOKEN
        yield hosts
    finally:
        for proc in hosts:
            proc.stop()


def _instances() -> tuple[list[bytes], dict[str, tuple[str, str]]]:
    """The data set and, per SOPInstanceUID, its (study, series)."""
    datas, where = [], {}
    for s in range(N_STUDIES):
        study = f"2.25.{uuid.uuid4().int}"
        for r in range(N_SERIES):
            series = f"2.25.{uuid.uuid4().int}"
            for i in range(N_INSTANCES):
                sop = f"2.25.{uuid.uuid4().int}"
                datas.append(
                    make_instance(
                        StudyInstanceUID=study,
                        SeriesInstanceUID=series,
                        SOPInstanceUID=sop,
                        PatientID=f"P{s % 3}",
                        Modality="MR" if r == 0 else "CT",
                        SeriesNumber=r + 1,
                        InstanceNumber=i + 1,
                        PixelData=bytes([s, r, i]) * 10 + bytes(2),
                    )
                )
                where[sop] = (study, series)
    return datas, where


def _uids(data: bytes) -> tuple[str, str, str]:
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


def _sop(data: bytes) -> str:
    return _uids(data)[2]


def _stow(host: VoxwebProcess, parts: list[bytes]) -> requests.Response:
    body, ctype = multipart_body(parts, boundary=uuid.uuid4().hex)
    return host.post(
        "/dicom/studies", data=body, headers={"Content-Type": ctype, **DICOM_JSON}, timeout=120
    )


def _uids_in(answer: dict, tag: str) -> set[str]:
    return {item["00081155"]["Value"][0] for item in answer.get(tag, {}).get("Value", [])}


def _qido(host: VoxwebProcess, path: str, **params: str) -> list[dict]:
    r = host.get(path, params=params, headers=DICOM_JSON)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.json()


def _value(item: dict, tag: str):
    return item[tag]["Value"][0]


def test_two_processes_share_one_database(two_hosts):
    a, b = two_hosts
    datas, where = _instances()
    sha = {_sop(d): hashlib.sha256(d).hexdigest() for d in datas}
    rng = random.Random(15)

    # jobs: overlapping windows of the shuffled data, each to one process, a third of them
    # also to the other (the same bytes to both hosts at once)
    order = datas[:]
    rng.shuffle(order)
    jobs: list[tuple[VoxwebProcess, list[bytes]]] = []
    for n, start in enumerate(range(0, len(order), 4)):
        window = order[start : start + 6]
        first, other = (a, b) if n % 2 else (b, a)
        jobs.append((first, window))
        if rng.random() < 0.34:
            jobs.append((other, window[::-1]))
    # same SOPInstanceUID, different bytes, to both processes: one wins, one is refused
    conflicts = {}
    for k in range(N_CONFLICTS):
        study, series, sop = (f"2.25.{uuid.uuid4().int}" for _ in range(3))
        pair = [
            make_instance(
                StudyInstanceUID=study,
                SeriesInstanceUID=series,
                SOPInstanceUID=sop,
                PixelData=bytes([k, v]) * 16,
            )
            for v in (1, 2)
        ]
        conflicts[sop] = pair
        jobs += [(a, [pair[0]]), (b, [pair[1]])]
    rng.shuffle(jobs)

    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put(job)
    errors: list[str] = []
    conflict_answers: dict[str, list[tuple[str, str]]] = defaultdict(list)  # sop -> outcomes
    lock = threading.Lock()

    def client() -> None:
        while True:
            try:
                host, parts = todo.get_nowait()
            except queue.Empty:
                return
            other = b if host is a else a
            sops = [_sop(p) for p in parts]
            try:
                r = _stow(host, parts)
                if r.status_code >= 500 or r.status_code == 400:
                    raise AssertionError(f"STOW answered {r.status_code}: {r.text[:500]}")
                answer = r.json()
                stored = _uids_in(answer, "00081199")
                failed = {
                    item["00081155"]["Value"][0]: item["00081197"]["Value"][0]
                    for item in answer.get("00081198", {}).get("Value", [])
                }
                if sops[0] in conflicts:
                    outcome = "stored" if sops[0] in stored else f"failed {failed.get(sops[0])}"
                    with lock:
                        conflict_answers[sops[0]].append(
                            (outcome, hashlib.sha256(parts[0]).hexdigest())
                        )
                    if sops[0] not in stored:
                        continue
                else:
                    assert r.status_code == 200, (r.status_code, answer)
                    assert stored == set(sops), (stored, sops, failed)
                # the other process sees them at once (its QIDO cache must not hide them)
                found = _qido(other, "/dicom/instances", SOPInstanceUID=",".join(sops))
                seen = {_value(item, "00080018") for item in found}
                assert seen == set(sops), f"other process misses {set(sops) - seen}"
            except Exception as exc:  # collected: an assert in a thread would go unseen
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "client threads hung"
    assert not errors, errors[:5]

    # each conflict: exactly one version stored, the other refused as a duplicate (0x0111)
    for sop, outcomes in conflict_answers.items():
        assert sorted(o for o, _ in outcomes) == ["failed 273", "stored"], (sop, outcomes)
        sha[sop] = next(h for o, h in outcomes if o == "stored")
    expected_studies: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for d in datas:
        sop = _sop(d)
        study, series = where[sop]
        expected_studies[study][series].add(sop)
    for sop, pair in conflicts.items():
        study, series, _ = _uids(pair[0])
        expected_studies[study][series].add(sop)

    for host in (a, b):
        studies = _qido(host, "/dicom/studies", limit="1000")
        assert {_value(s, "0020000D") for s in studies} == set(expected_studies)
        for item in studies:
            study = _value(item, "0020000D")
            series = expected_studies[study]
            assert _value(item, "00201206") == len(series)  # NumberOfStudyRelatedSeries
            assert _value(item, "00201208") == sum(map(len, series.values()))
            found_series = _qido(host, f"/dicom/studies/{study}/series")
            assert {_value(s, "0020000E") for s in found_series} == set(series)
            for s in found_series:
                assert _value(s, "00201209") == len(series[_value(s, "0020000E")])
            instances = _qido(host, f"/dicom/studies/{study}/instances", limit="1000")
            assert sorted(_value(i, "00080018") for i in instances) == sorted(
                set().union(*series.values())
            )
            # WADO-RS: every instance's bytes, as sent, from this process
            r = host.get(
                f"/dicom/studies/{study}",
                headers={"Accept": 'multipart/related; type="application/dicom"'},
                timeout=120,
            )
            assert r.status_code == 200, r.text[:300]
            parts = split_multipart(r.content, r.headers["content-type"])
            got = {_sop(content): hashlib.sha256(content).hexdigest() for _, content in parts}
            assert len(got) == len(parts)  # no instance twice
            assert got == {sop: sha[sop] for sop in set().union(*series.values())}

    # a cached answer on one process follows a store through the other at once
    before = _qido(b, "/dicom/studies", limit="1000")
    assert _qido(b, "/dicom/studies", limit="1000") == before  # now from b's cache
    late = make_instance(StudyInstanceUID=f"2.25.{uuid.uuid4().int}")
    assert _stow(a, [late]).status_code == 200
    after = _qido(b, "/dicom/studies", limit="1000")
    assert len(after) == len(before) + 1


def _open_index_after(barrier, url: str, results) -> None:
    from voxweb.dicom.index import Index

    barrier.wait(30)
    try:
        Index(url).close()
        results.put("ok")
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}"[:300])


def test_hosts_starting_at_once_create_one_schema(database_url):
    """Every host of a fleet creates the schema if missing; all start together on an empty
    database (on PostgreSQL the losers once failed with a pg_type unique violation)."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [
        ctx.Process(target=_open_index_after, args=(barrier, database_url, results))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert outcomes == ["ok"] * 4
