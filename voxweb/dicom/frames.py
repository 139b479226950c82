"""Frame pixels: transfer-syntax media types, decoding, rendered images and thumbnails.

Pure functions over stored Part-10 files (or their bytes): decode a frame to native little
endian bytes with pydicom's pixel handlers (pylibjpeg/openjpeg plugins for compressed
syntaxes), and render a frame to JPEG or PNG with a window, a viewport and a quality. No HTTP
types here: the DICOMweb adapter maps ``DecoderUnavailableError`` to 406 and
``RenderParameterError`` to 400.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from voxweb.dicom.errors import DicomError, NotFoundError

log = logging.getLogger(__name__)

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
NATIVE_SYNTAXES = frozenset(
    {IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, DEFLATED}
)

# PS3.18 Table 8.7.3-5: media types of compressed frames by transfer syntax
_COMPRESSED_MEDIA = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
    "1.2.840.10008.1.2.4.100": "video/mpeg",
    "1.2.840.10008.1.2.4.101": "video/mpeg",
    "1.2.840.10008.1.2.4.102": "video/mp4",
    "1.2.840.10008.1.2.4.103": "video/mp4",
    "1.2.840.10008.1.2.4.104": "video/mp4",
    "1.2.840.10008.1.2.4.105": "video/mp4",
    "1.2.840.10008.1.2.4.106": "video/mp4",
    "1.2.840.10008.1.2.4.107": "video/H265",
    "1.2.840.10008.1.2.4.108": "video/H265",
}

RENDER_MEDIA_TYPES = ("image/jpeg", "image/png")


class DecoderUnavailableError(DicomError):
    """No installed pixel decoder handles this transfer syntax (HTTP 406)."""


class RenderParameterError(DicomError, ValueError):
    """A rendering parameter (viewport, window, quality, size) is malformed (HTTP 400)."""


def is_native(transfer_syntax_uid: str) -> bool:
    """True for uncompressed (native) transfer syntaxes."""
    return transfer_syntax_uid in NATIVE_SYNTAXES


def frame_media_type(transfer_syntax_uid: str) -> str:
    """The media type of one frame stored in ``transfer_syntax_uid`` (octet-stream if native)."""
    if is_native(transfer_syntax_uid):
        return "application/octet-stream"
    return _COMPRESSED_MEDIA.get(transfer_syntax_uid, "application/octet-stream")


def decoder_available(transfer_syntax_uid: str) -> bool:
    """Whether pydicom has a working decoder for ``transfer_syntax_uid``."""
    if is_native(transfer_syntax_uid):
        return True
    try:
        from pydicom.pixels import get_decoder

        return bool(get_decoder(transfer_syntax_uid).is_available)
    except (NotImplementedError, ValueError, KeyError):
        return False


def _require_decoder(transfer_syntax_uid: str) -> None:
    if not decoder_available(transfer_syntax_uid):
        raise DecoderUnavailableError(
            f"no pixel decoder is installed for transfer syntax {transfer_syntax_uid}; "
            "ask for transfer-syntax=* to receive the frames as stored"
        )


def _read(path: str | os.PathLike[str]):  # noqa: ANN202
    import pydicom

    return pydicom.dcmread(path)


def _number_of_frames(ds) -> int:  # noqa: ANN001
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def decode_frames(
    path: str | os.PathLike[str], frames: Iterable[int], transfer_syntax_uid: str | None = None
) -> list[bytes]:
    """Native little-endian bytes of 1-based ``frames`` of the file at ``path``."""
    from pydicom.pixels import pixel_array

    if transfer_syntax_uid is not None:
        _require_decoder(transfer_syntax_uid)
    ds = _read(path)
    if "PixelData" not in ds:
        raise NotFoundError("the instance has no pixel data")
    ts = str(ds.file_meta.get("TransferSyntaxUID", EXPLICIT_VR_LITTLE_ENDIAN))
    _require_decoder(ts)
    n = _number_of_frames(ds)
    out = []
    for i in frames:
        if not 1 <= i <= n:
            raise NotFoundError(f"the instance has {n} frame(s), not frame {i}")
        try:
            arr = pixel_array(ds, index=i - 1)
        except Exception as exc:  # a codec failing on one file must not crash the server
            raise DecoderUnavailableError(f"cannot decode frame {i}: {exc}") from exc
        out.append(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes())
    return out


def transcode_to_explicit_le(path: str | os.PathLike[str]) -> bytes:
    """The instance re-encoded in Explicit VR Little Endian (pixel data decompressed)."""
    ds = _read(path)
    ts = str(ds.file_meta.get("TransferSyntaxUID", EXPLICIT_VR_LITTLE_ENDIAN))
    if ts == EXPLICIT_VR_LITTLE_ENDIAN:
        return open(path, "rb").read()  # noqa: SIM115
    _require_decoder(ts)
    try:
        if "PixelData" in ds and not is_native(ts):
            ds.decompress()
        else:
            from pydicom.uid import ExplicitVRLittleEndian

            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
    except Exception as exc:
        raise DecoderUnavailableError(f"cannot transcode the instance: {exc}") from exc
    return buf.getvalue()


# -- rendering --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RenderOptions:
    """How to render: output type, viewport (width, height), window (center, width, fn)."""

    media_type: str = "image/jpeg"
    viewport: tuple[int, int] | None = None
    window: tuple[float, float, str] | None = None
    quality: int | None = None


def parse_viewport(text: str | None) -> tuple[int, int] | None:
    """``vw,vh`` (PS3.18 viewport; source-region values after them are ignored)."""
    if not text:
        return None
    parts = [p for p in text.replace("%2C", ",").split(",")]
    try:
        vw = int(float(parts[0])) if parts[0] else 0
        vh = int(float(parts[1])) if len(parts) > 1 and parts[1] else 0
    except ValueError as exc:
        raise RenderParameterError(f"viewport {text!r} is not 'width,height'") from exc
    if vw < 0 or vh < 0 or vw > 8192 or vh > 8192 or (vw == 0 and vh == 0):
        raise RenderParameterError(f"viewport {text!r} is out of range (1..8192)")
    return vw, vh


def parse_window(text: str | None) -> tuple[float, float, str] | None:
    """``center,width[,linear|linear-exact|sigmoid]`` (PS3.18 window)."""
    if not text:
        return None
    parts = text.split(",")
    try:
        center, width = float(parts[0]), float(parts[1])
    except (ValueError, IndexError) as exc:
        raise RenderParameterError(f"window {text!r} is not 'center,width[,function]'") from exc
    fn = parts[2].strip().lower() if len(parts) > 2 and parts[2].strip() else "linear"
    if fn not in ("linear", "linear-exact", "sigmoid"):
        raise RenderParameterError(f"window function {fn!r} is not linear/linear-exact/sigmoid")
    if width <= 0:
        raise RenderParameterError("window width must be positive")
    return center, width, fn


def parse_quality(text: str | None) -> int | None:
    """JPEG quality 1..100."""
    if not text:
        return None
    try:
        q = int(text)
    except ValueError as exc:
        raise RenderParameterError(f"quality {text!r} is not an integer") from exc
    if not 1 <= q <= 100:
        raise RenderParameterError("quality must be between 1 and 100")
    return q


def _first(value, default: float) -> float:  # noqa: ANN001
    if value is None:
        return default
    try:
        if (
            isinstance(value, (list, tuple))
            or hasattr(value, "__getitem__")
            and not isinstance(value, str)
        ):
            value = value[0]
        return float(value)
    except (TypeError, ValueError, IndexError):
        return default


def _to_uint8(
    ds,  # noqa: ANN001
    arr: np.ndarray,
    window: tuple[float, float, str] | None,
) -> np.ndarray:
    """Grey frame -> modality LUT -> window -> 8 bits (MONOCHROME1 inverted)."""
    data = arr.astype(np.float64)
    slope = _first(ds.get("RescaleSlope"), 1.0)
    intercept = _first(ds.get("RescaleIntercept"), 0.0)
    data = data * slope + intercept
    if window is None:
        wc = ds.get("WindowCenter")
        ww = ds.get("WindowWidth")
        if wc is not None and ww is not None and _first(ww, 0.0) > 0:
            window = (_first(wc, 0.0), _first(ww, 1.0), "linear")
    if window is None:
        lo, hi = float(np.min(data)), float(np.max(data))
        out = (data - lo) / (hi - lo) if hi > lo else np.zeros_like(data)
    else:
        c, w, fn = window
        if fn == "sigmoid":
            out = 1.0 / (1.0 + np.exp(-4.0 * (data - c) / w))
        elif fn == "linear-exact":
            out = (data - (c - w / 2.0)) / w
        else:  # PS3.3 C.11.2.1.2.1
            out = (data - (c - 0.5)) / (w - 1.0) + 0.5 if w > 1 else (data >= c).astype(float)
    out = np.clip(out, 0.0, 1.0)
    if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        out = 1.0 - out
    return (out * 255.0 + 0.5).astype(np.uint8)


def frame_image(path: str | os.PathLike[str], frame: int = 1, window=None):  # noqa: ANN001, ANN201
    """A Pillow image of 1-based ``frame`` (grey frames windowed, colour converted to RGB)."""
    from PIL import Image
    from pydicom.pixels import pixel_array

    ds = _read(path)
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise NotFoundError("the instance has no pixel data to render")
    ts = str(ds.file_meta.get("TransferSyntaxUID", EXPLICIT_VR_LITTLE_ENDIAN))
    _require_decoder(ts)
    n = _number_of_frames(ds)
    if not 1 <= frame <= n:
        raise NotFoundError(f"the instance has {n} frame(s), not frame {frame}")
    try:
        arr = pixel_array(ds, index=frame - 1)
    except Exception as exc:
        raise DecoderUnavailableError(f"cannot decode frame {frame}: {exc}") from exc
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if spp == 1 and photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        rgb = apply_color_lut(arr, ds)
        if rgb.dtype != np.uint8:
            rgb = (rgb / (rgb.max() or 1) * 255).astype(np.uint8)
        return Image.fromarray(rgb, "RGB")
    if spp == 1:
        if arr.ndim > 2:
            arr = arr.reshape(arr.shape[-2:])
        return Image.fromarray(_to_uint8(ds, arr, window), "L")
    if arr.dtype != np.uint8:
        hi = float(arr.max()) or 1.0
        arr = (arr.astype(np.float64) / hi * 255.0).astype(np.uint8)
    return Image.fromarray(arr[..., :3], "RGB")


def render(
    path: str | os.PathLike[str], frame: int = 1, options: RenderOptions | None = None
) -> bytes:
    """Encode 1-based ``frame`` of the instance at ``path`` as JPEG or PNG."""
    from PIL import Image

    opts = options or RenderOptions()
    if opts.media_type not in RENDER_MEDIA_TYPES:
        raise RenderParameterError(f"cannot render as {opts.media_type}")
    img = frame_image(path, frame, opts.window)
    if opts.viewport is not None:
        vw, vh = opts.viewport
        w, h = img.size
        scale = min(vw / w if vw else float("inf"), vh / h if vh else float("inf"))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        if size != img.size:
            img = img.resize(size, Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    if opts.media_type == "image/png":
        img.save(buf, "PNG", compress_level=1)
    else:
        img.save(buf, "JPEG", quality=opts.quality or 90)
    return buf.getvalue()


__all__ = [
    "DecoderUnavailableError",
    "RenderOptions",
    "RenderParameterError",
    "decode_frames",
    "decoder_available",
    "frame_media_type",
    "is_native",
    "parse_quality",
    "parse_viewport",
    "parse_window",
    "render",
    "transcode_to_explicit_le",
]
