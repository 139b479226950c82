"""Slicer's sample data sets by name: where they live, how to check them, where to cache them.

The registry carries Slicer's own download addresses and SHA-256 checksums (SampleData
module). ``fetch`` returns a local file for a name: from the cache in the data dir, else by
downloading (checksum verified, written atomically), else from an offline source that the
set-up installed — for MRHead a real head MRI (the averaged head with face shipped by the
``pydeface`` package, or Colin27 from Debian's ``mricron-data``). A name with no source that
works raises ``SampleDataError`` saying what was tried. Loading the file into nodes is the
caller's business (``io.load``); this module never touches the scene.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

SLICER_TESTING_DATA = "https://github.com/Slicer/SlicerTestingData/releases/download/SHA256/"
CHUNK = 1 << 20


class SampleDataError(LookupError):
    """A sample is unknown, or none of its sources could provide it."""


@dataclass(frozen=True)
class SampleSource:
    name: str
    file_name: str
    sha256: str
    node_name: str
    file_type: str = "VolumeFile"
    url: str = ""
    # Files on this machine that stand in when there is no network, best first.
    offline: tuple[Callable[[], Path | None], ...] = field(default=(), compare=False)

    @property
    def download_url(self) -> str:
        return self.url or SLICER_TESTING_DATA + self.sha256


def _package_file(package: str, relative: str) -> Callable[[], Path | None]:
    def find() -> Path | None:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(next(iter(spec.submodule_search_locations))) / relative
        return path if path.is_file() else None

    return find


def _system_file(path: str) -> Callable[[], Path | None]:
    return lambda: Path(path) if Path(path).is_file() else None


# A real head MRI for MRHead when offline: pydeface's averaged head (with face, MIT licence,
# installed by `make`), else the Colin27 template from Debian's mricron-data.
_OFFLINE_HEADS = (
    _package_file("pydeface", "data/mean_reg2mean.nii.gz"),
    _system_file("/usr/share/mricron/templates/ch2.nii.gz"),
)


def _slicer(
    name: str, file_name: str, sha256: str, node_name: str | None = None, **kw
) -> SampleSource:
    return SampleSource(name, file_name, sha256, node_name or name, **kw)


SAMPLES: dict[str, SampleSource] = {
    s.name: s
    for s in (
        _slicer(
            "MRHead",
            "MR-head.nrrd",
            "cc211f0dfd9a05ca3841ce1141b292898b2dd2d3f08286affadf823a7e58df93",
            offline=_OFFLINE_HEADS,
        ),
        _slicer(
            "CTChest",
            "CT-chest.nrrd",
            "4507b664690840abb6cb9af2d919377ffc4ef75b167cb6fd0f747befdb12e38e",
        ),
        _slicer(
            "CTACardio",
            "CTA-cardio.nrrd",
            "3b0d4eb1a7d8ebb0c5a89cc0504640f76a030b4e869e33ff34c564c3d3b88ad2",
        ),
        _slicer(
            "DTIBrain",
            "DTI-Brain.nrrd",
            "5c78d00c86ae8d968caa7a49b870ef8e1c04525b1abc53845751d8bce1f0b91a",
        ),
        _slicer(
            "MRBrainTumor1",
            "RegLib_C01_1.nrrd",
            "998cb522173839c78657f4bc0ea907cea09fd04e44601f17c82ea27927937b95",
        ),
        _slicer(
            "MRBrainTumor2",
            "RegLib_C01_2.nrrd",
            "1a64f3f422eb3d1c9b093d1a18da354b13bcf307907c66317e2463ee530b7a97",
        ),
        _slicer(
            "BaselineVolume",
            "BaselineVolume.nrrd",
            "dff28a7711d20b6e16d5416535f6010eb99fd0c8468aaa39be4e39da78e93ec2",
        ),
        _slicer(
            "CTAAbdomenPanoramix",
            "Panoramix-cropped.nrrd",
            "146af87511520c500a3706b7b2bfb545f40d5d04dd180be3a7a2c6940e447433",
            "Panoramix-cropped",
        ),
        _slicer(
            "CTLiver",
            "CTLiver.nrrd",
            "e16eae0ae6fefa858c5c11e58f0f1bb81834d81b7102e021571056324ef6f37e",
        ),
        _slicer(
            "TinyPatient",
            "TinyPatient_CT.nrrd",
            "c0743772587e2dd4c97d4e894f5486f7a9a202049c8575e032114c0a5c935c3b",
            "TinyPatient_CT",
        ),
    )
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str, target: Path, sha256: str | None, timeout: float = 30.0, max_bytes: int = 4 << 30
) -> Path:
    """Download ``url`` to ``target`` atomically, verifying the SHA-256 when given."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, tmp.open("wb") as out:  # noqa: S310
            while block := response.read(CHUNK):
                size += len(block)
                if size > max_bytes:
                    raise SampleDataError(f"{url} is larger than {max_bytes} bytes")
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if sha256 and digest.hexdigest() != sha256.lower():
            raise SampleDataError(
                f"checksum mismatch for {url}: expected SHA256 {sha256}, got {digest.hexdigest()}"
            )
        os.replace(tmp, target)
        return target
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def local_copy(
    name: str, cache_dir: Path, registry: dict[str, SampleSource] | None = None
) -> Path | None:
    """A copy of sample ``name`` that loads without the network (verified cache, or an
    installed offline copy), or None."""
    registry = SAMPLES if registry is None else registry
    source = registry.get(name)
    if source is None:
        return None
    cached = cache_dir / source.file_name
    if cached.is_file() and sha256_of(cached) == source.sha256:
        return cached
    for find in source.offline:
        path = find()
        if path is not None:
            return path
    return None


def fetch(
    name: str,
    cache_dir: Path,
    allow_download: bool = True,
    registry: dict[str, SampleSource] | None = None,
) -> tuple[Path, SampleSource, str]:
    """A local file for sample ``name``: ``(path, source, how)`` with how in cache/download/offline."""
    registry = SAMPLES if registry is None else registry
    source = registry.get(name)
    if source is None:
        raise SampleDataError(f"sampledata {name} was not found")
    cached = cache_dir / source.file_name
    if cached.is_file() and sha256_of(cached) == source.sha256:
        return cached, source, "cache"
    problems = []
    if allow_download:
        try:
            path = download(source.download_url, cached, source.sha256)
            logger.info("downloaded sample %s from %s", name, source.download_url)
            return path, source, "download"
        except (urllib.error.URLError, OSError, SampleDataError) as exc:
            problems.append(f"download from {source.download_url} failed ({exc})")
    else:
        problems.append("downloads are off")
    for find in source.offline:
        path = find()
        if path is not None:
            logger.info("sample %s: no download, using the offline copy %s", name, path)
            return path, source, "offline"
    problems.append("no offline copy is installed")
    raise SampleDataError(f"sample data {name} is not available: {'; '.join(problems)}")
