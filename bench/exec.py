"""Remote Python speed: ``/slicer/exec`` round trips, against a plain GET in the same run.

    .venv/bin/python bench/exec.py [--rounds 200]

Measured over HTTP on loopback, keep-alive, against a real ``voxweb serve``:

* a trivial exec (``__execResult = 1``) and, as the baseline, ``GET /slicer/system/version``
  (what the HTTP stack and JSON cost without running code);
* ``arrayFromVolume`` on a 256^3 int16 volume (goal, issue 13: <= 2 ms, i.e. no copy), timed
  inside the exec (``time.perf_counter`` around the call) and as a whole round trip;
* ``GetImageData()`` on the same volume, and a copy of the array for comparison (what a
  copying implementation would cost).

Medians (p50) and p90, in milliseconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import VoxwebProcess  # noqa: E402


def timed(connection: http.client.HTTPConnection, method: str, path: str, body: bytes = b""):
    start = time.perf_counter()
    connection.request(method, path, body=body, headers={"Content-Type": "text/plain"})
    response = connection.getresponse()
    data = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return elapsed, data


def summary(name: str, samples: list[float], baseline: float | None = None) -> None:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p90 = samples[int(len(samples) * 0.9) - 1]
    ratio = f"  ({p50 / baseline:.1f}x the plain GET)" if baseline else ""
    print(f"{name:<52} p50 {p50:8.3f} ms   p90 {p90:8.3f} ms{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    with VoxwebProcess(
        Path(tempfile.mkdtemp(prefix="voxweb-bench-exec-")),
        ["--auth", "none", "--enable-exec", "--no-sample-download"],
    ) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port)
        timed(connection, "POST", "/slicer/exec", b"import slicer\n__execResult = 1")  # warm up
        setup = (
            b"import numpy as np\nfrom slicer.util import *\n"
            b"big = addVolumeFromArray(np.zeros((256, 256, 256), np.int16), name='Big')\n"
        )
        timed(connection, "POST", "/slicer/exec", setup)

        rows = {"get": [], "trivial": [], "array_rt": [], "array_in": [], "image_in": [],
                "copy_in": []}  # fmt: skip
        in_exec = (
            b"t0 = time.perf_counter(); a = arrayFromVolume(getNode('Big'));"
            b" t1 = time.perf_counter(); img = getNode('Big').GetImageData();"
            b" t2 = time.perf_counter(); c = a.copy(); t3 = time.perf_counter();"
            b" __execResult = [(t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3]"
        )
        for _ in range(args.rounds):
            rows["get"].append(timed(connection, "GET", "/slicer/system/version")[0])
            rows["trivial"].append(
                timed(connection, "POST", "/slicer/exec", b"__execResult = 1")[0]
            )
            elapsed, _ = timed(
                connection, "POST", "/slicer/exec", b"a = arrayFromVolume(getNode('Big'))\n"
            )
            rows["array_rt"].append(elapsed)
            _, data = timed(connection, "POST", "/slicer/exec", in_exec)
            array_ms, image_ms, copy_ms = json.loads(data)
            rows["array_in"].append(array_ms)
            rows["image_in"].append(image_ms)
            rows["copy_in"].append(copy_ms)

        base = statistics.median(rows["get"])
        print(f"voxweb exec, {args.rounds} rounds, loopback keep-alive")
        summary("GET /slicer/system/version (baseline)", rows["get"])
        summary("exec '__execResult = 1' round trip", rows["trivial"], base)
        summary("exec arrayFromVolume(256^3 int16) round trip", rows["array_rt"], base)
        summary("  arrayFromVolume inside exec (goal <= 2 ms)", rows["array_in"])
        summary("  GetImageData inside exec (shares the array)", rows["image_in"])
        summary("  a copy of the 32 MB array, for comparison", rows["copy_in"])


if __name__ == "__main__":
    main()
