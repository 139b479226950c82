"""Rendering speed: slices, 3-D views and screenshots, against naive baselines in the same run.

    .venv/bin/python bench/render.py [--seconds 4] [--repeat 25]

The volume is 256^3 int16, head-like: the offline MRHead sample's voxels padded to 256^3 on an
axis-aligned 1 mm grid (a synthetic head if the sample is unavailable). Measured:

* server side (in process, the render service a request calls, cache bypassed by moving the
  plane or camera every call): ``/slicer/slice`` 512x512 PNG and JPEG, ``/slicer/threeD``
  512x512 volume rendering, the FourUp ``/slicer/screenshot`` (1024x768);
* over HTTP on loopback: slice images per second with 4 concurrent keep-alive clients, every
  request a new plane (no cache hits).

Baselines, run on the same data: a naive slice (float window/level, ``scipy.ndimage.zoom``,
PNG level 6 / JPEG via Pillow), the 3-D view at full sampling (``render=full``) and the numpy
ray caster. Goals (issue 4): slice PNG <= 8 ms p50, JPEG <= 3 ms, >= 150 images/s over HTTP,
3-D <= 150 ms p50, FourUp screenshot <= 200 ms.
"""

from __future__ import annotations

import argparse
import http.client
import io
import statistics
import sys
import threading
import time
from pathlib import Path

import nrrd
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import VoxwebProcess  # noqa: E402
from tests.support.volumes import nrrd_header_for  # noqa: E402
from voxweb.render.service import (  # noqa: E402
    ImageOptions,
    RenderService,
    SliceRequest,
    ThreeDRequest,
)
from voxweb.scene import ScalarVolume  # noqa: E402
from voxweb.services.workspace import Workspace  # noqa: E402


def head_volume(workspace: Workspace) -> ScalarVolume:
    """MRHead's voxels in a 256^3 int16 array with an axis-aligned 1 mm geometry."""
    try:
        source = workspace.load_sample("MRHead")[0].array
        workspace.clear()
    except Exception as exc:  # noqa: BLE001 - fall back to a synthetic head
        print(f"(MRHead unavailable: {exc}; using a synthetic head)")
        z, y, x = np.mgrid[:256, :256, :256]
        r = np.sqrt(((x - 128) / 80) ** 2 + ((y - 128) / 100) ** 2 + ((z - 128) / 90) ** 2)
        source = np.where(r < 1, 300 + 50 * np.sin(x / 7.0) * np.cos(y / 5.0), 0)
        source = np.where((r > 0.9) & (r < 1), 700, source).astype(np.int16)
    array = np.zeros((256, 256, 256), dtype=np.int16)
    k, j, i = (min(256, n) for n in source.shape)
    array[:k, :j, :i] = source[:k, :j, :i]
    ijk_to_ras = np.eye(4)  # MRHead's i, j, k run roughly along R, A, S
    ijk_to_ras[:3, 3] = -128.0
    return ScalarVolume(array, ijk_to_ras, name="head")


def median_ms(func, repeat: int) -> tuple[float, float]:
    times = []
    for n in range(repeat):
        t0 = time.perf_counter()
        func(n)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def naive_slice(volume: ScalarVolume, n: int, fmt: str) -> bytes:
    """The obvious way: float W/L on the voxel slice, scipy zoom to 512^2, Pillow defaults."""
    from scipy.ndimage import zoom

    k = 40 + (n * 7) % 170
    window, level = volume.display.window, volume.display.level
    grey = np.clip((volume.array[k].astype(np.float64) - (level - window / 2)) / window, 0, 1)
    big = zoom(grey * 255.0, 2.0, order=1)
    out = io.BytesIO()
    image = Image.fromarray(big.astype(np.uint8)[::-1, ::-1])
    if fmt == "png":
        image.save(out, format="PNG", compress_level=6)
    else:
        image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def row(name: str, value: float, unit: str, goal: str, base: float | None = None, base_name=""):
    ratio = f"  {base / value:5.1f}x faster than {base_name} ({base:.1f} {unit})" if base else ""
    print(f"{name:<44} {value:8.1f} {unit:<5} goal {goal:<8}{ratio}")


def server_side(volume: ScalarVolume, repeat: int) -> None:
    workspace = Workspace()
    workspace.auto_volume_rendering = True
    workspace.scene.add(volume)
    workspace.show_volume(volume)
    service = RenderService(workspace.scene)
    views = ["Red", "Yellow", "Green"]

    def slice_call(fmt: str):
        def call(n: int) -> None:
            request = SliceRequest(
                view=views[n % 3],
                scroll_to=0.2 + 0.6 * ((n * 37) % 101) / 101,
                size=(512, 512),
                stateless=True,
                image=ImageOptions(fmt),
            )
            service.slice_image(request)

        return call

    print(f"server side, 256^3 int16, medians of {repeat}")
    for fmt, goal in (("png", "<= 8"), ("jpeg", "<= 3")):
        ours, p90 = median_ms(slice_call(fmt), repeat)
        base, _ = median_ms(lambda n, fmt=fmt: naive_slice(volume, n, fmt), repeat)
        row(
            f"/slicer/slice 512x512 {fmt.upper()} p50 (p90 {p90:.1f})",
            ours,
            "ms",
            goal,
            base,
            "naive",
        )

    def threed(quality: str, backend: RenderService):
        def call(n: int) -> None:
            backend.threed_image(
                ThreeDRequest(
                    size=(512, 512), orbit_x=7.0 * (n + 1), quality=quality, stateless=True
                )
            )

        return call

    threed("fast", service)(0)  # VTK start-up and volume upload, not measured
    fast, p90 = median_ms(threed("fast", service), max(5, repeat // 2))
    full, _ = median_ms(threed("full", service), max(3, repeat // 5))
    numpy_service = RenderService(workspace.scene, backend="numpy")
    numpy_ms, _ = median_ms(threed("fast", numpy_service), 3)
    row(f"/slicer/threeD 512x512 VR p50 (p90 {p90:.1f})", fast, "ms", "<= 150", full, "render=full")
    row("/slicer/threeD numpy ray caster (fallback)", numpy_ms, "ms", "-", None)

    def shot(n: int) -> None:
        service.cache.clear()  # no reuse of the 3-D tile between calls
        service.screenshot((1024, 768))

    shot_ms, p90 = median_ms(shot, max(5, repeat // 2))
    row(f"/slicer/screenshot FourUp 1024x768 p50 (p90 {p90:.1f})", shot_ms, "ms", "<= 200", None)


def http_rate(volume: ScalarVolume, seconds: float, clients: int = 4) -> None:
    server = VoxwebProcess(Path(__import__("tempfile").mkdtemp()), ["--auth", "none"])
    server.start()
    try:
        body = io.BytesIO()
        header = {**nrrd_header_for(volume.ijk_to_ras), "encoding": "raw"}
        nrrd.write(body, volume.array, header, index_order="C")
        reply = server.post("/slicer/volume?id=head", data=body.getvalue())
        assert reply.status_code == 200, reply.text
        counter = iter(range(10**9))
        lock = threading.Lock()
        done = [0] * clients
        deadline = time.perf_counter() + seconds

        def client(index: int, fmt: str) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", server.port)
            while time.perf_counter() < deadline:
                with lock:
                    n = next(counter)
                view = ("red", "yellow", "green")[n % 3]
                offset = -60 + (n * 0.37) % 120  # a new plane every request: no cache hits
                conn.request(
                    "GET",
                    f"/slicer/slice?view={view}&offset={offset:.3f}&size=512&stateless=1&format={fmt}",
                )
                response = conn.getresponse()
                response.read()
                assert response.status == 200, response.status
                done[index] += 1
            conn.close()

        for fmt in ("png", "jpeg"):
            done[:] = [0] * clients
            deadline = time.perf_counter() + seconds
            threads = [threading.Thread(target=client, args=(i, fmt)) for i in range(clients)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rate = sum(done) / (time.perf_counter() - start)
            row(f"HTTP slice 512x512 {fmt.upper()}, {clients} clients", rate, "img/s", ">= 150")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per HTTP throughput run")
    parser.add_argument("--repeat", type=int, default=25, help="calls per server-side median")
    args = parser.parse_args()
    volume = head_volume(Workspace())
    server_side(volume, args.repeat)
    http_rate(volume, args.seconds)


if __name__ == "__main__":
    main()
