"""Transform files <-> transform nodes: ITK text transforms and displacement-field images.

ITK transform files (``.tfm``/``.txt``) hold a *from-parent* (resampling) transform in LPS;
like Slicer, reading converts it to RAS and inverts it into the node's to-parent matrix, and
writing does the reverse (as ``AffineTransform_double_3_3`` with a zero centre). Displacement
fields come from 4-D NRRD or NIfTI images (ITK layout, LPS vectors) as grid transforms. No HTTP.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np

from voxweb.io import nifti as nifti_io
from voxweb.io import nrrd as nrrd_io
from voxweb.io.errors import TransformFormatError, UnsupportedFileTypeError, VolumeFormatError
from voxweb.io.limits import DEFAULT_MAX_VOLUME_SIZE
from voxweb.io.naming import file_extension, node_name_from
from voxweb.scene import geometry
from voxweb.scene.nodes import GridTransform, LinearTransform, TransformNode

_MATRIX_OFFSET = re.compile(
    r"^(AffineTransform|MatrixOffsetTransformBase|Rigid3DTransform|ScalableAffineTransform)"
    r"_(double|float)_3_3$"
)


def _matrix_offset(params: list[float], fixed: list[float], kind: str) -> np.ndarray:
    if len(params) != 12:
        raise TransformFormatError(
            f"{kind} needs 12 parameters (9 matrix + 3 translation), got {len(params)}"
        )
    a = np.array(params[:9]).reshape(3, 3)
    t = np.array(params[9:12])
    c = np.array(fixed[:3]) if len(fixed) >= 3 else np.zeros(3)
    m = np.eye(4)
    m[:3, :3] = a
    m[:3, 3] = t + c - a @ c
    return m


def _euler(params: list[float], fixed: list[float]) -> np.ndarray:
    if len(params) != 6:
        raise TransformFormatError(f"Euler3DTransform needs 6 parameters, got {len(params)}")
    ax, ay, az = params[:3]
    cx, sx, cy, sy, cz, sz = (
        math.cos(ax),
        math.sin(ax),
        math.cos(ay),
        math.sin(ay),
        math.cos(az),
        math.sin(az),
    )
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    compute_zyx = len(fixed) >= 4 and fixed[3] != 0
    r = rz @ ry @ rx if compute_zyx else rz @ rx @ ry
    return _matrix_offset([*r.reshape(-1), *params[3:6]], fixed, "Euler3DTransform")


def _versor(params: list[float], fixed: list[float]) -> np.ndarray:
    if len(params) != 6:
        raise TransformFormatError(f"VersorRigid3DTransform needs 6 parameters, got {len(params)}")
    x, y, z = params[:3]
    w = math.sqrt(max(0.0, 1.0 - x * x - y * y - z * z))
    r = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    return _matrix_offset([*r.reshape(-1), *params[3:6]], fixed, "VersorRigid3DTransform")


def _one_transform(kind: str, params: list[float], fixed: list[float]) -> np.ndarray:
    if _MATRIX_OFFSET.match(kind):
        return _matrix_offset(params, fixed, kind)
    base = kind.split("_")[0]
    if base == "TranslationTransform":
        if len(params) != 3:
            raise TransformFormatError(f"{kind} needs 3 parameters, got {len(params)}")
        m = np.eye(4)
        m[:3, 3] = params
        return m
    if base == "IdentityTransform":
        return np.eye(4)
    if base == "Euler3DTransform":
        return _euler(params, fixed)
    if base == "VersorRigid3DTransform":
        return _versor(params, fixed)
    raise TransformFormatError(
        f"ITK transform type '{kind}' is not supported (supported: AffineTransform, "
        "MatrixOffsetTransformBase, Rigid3DTransform, Euler3DTransform, VersorRigid3DTransform, "
        "TranslationTransform, IdentityTransform, and a CompositeTransform of those)"
    )


def parse_itk_text(text: str) -> np.ndarray:
    """The LPS from-parent 4x4 matrix of an ITK text transform (composites multiplied out)."""
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").split("\n")]
    if not lines or not lines[0].startswith("#Insight Transform File"):
        first = lines[0][:40] if lines else ""
        raise TransformFormatError(
            f"not an ITK transform file: it starts with {first!r} instead of '#Insight Transform File V1.0'"
        )
    blocks: list[dict[str, str]] = []
    for line in lines[1:]:
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise TransformFormatError(f"ITK transform line {line[:60]!r} has no ':'")
        key = key.strip()
        if key == "Transform":
            blocks.append({"Transform": value.strip()})
        elif not blocks:
            raise TransformFormatError(
                f"ITK transform file has '{key}' before any 'Transform:' line"
            )
        else:
            blocks[-1][key] = value.strip()
    if not blocks:
        raise TransformFormatError("ITK transform file contains no transform")
    matrices = []
    for block in blocks:
        kind = block["Transform"]
        if kind.startswith("CompositeTransform"):
            continue
        try:
            params = [float(v) for v in block.get("Parameters", "").split()]
            fixed = [float(v) for v in block.get("FixedParameters", "").split()]
        except ValueError as exc:
            raise TransformFormatError(
                f"ITK transform '{kind}' has a non-numeric parameter: {exc}"
            ) from exc
        if "Parameters" not in block:
            raise TransformFormatError(f"ITK transform '{kind}' has no 'Parameters' line")
        matrices.append(_one_transform(kind, params, fixed))
    if not matrices:
        raise TransformFormatError("ITK composite transform contains no transform")
    # A composite applies its last transform first: T0(T1(...Tn(x))).
    result = np.eye(4)
    for m in matrices:
        result = result @ m
    return result


def read_linear_transform(path: str | os.PathLike, name: str | None = None) -> LinearTransform:
    """Read an ITK ``.tfm``/``.txt`` file into a LinearTransform (RAS, to-parent)."""
    target = os.fspath(path)
    try:
        with open(target, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        raise TransformFormatError(
            f"cannot open transform file {target!r}: {exc.strerror or exc}"
        ) from exc
    try:
        from_parent_lps = parse_itk_text(text)
    except TransformFormatError as exc:
        raise TransformFormatError(f"{target!r}: {exc}") from exc
    from_parent_ras = geometry.lps_to_ras_transform(from_parent_lps)
    try:
        to_parent = np.linalg.inv(from_parent_ras)
    except np.linalg.LinAlgError as exc:
        raise TransformFormatError(f"{target!r}: the transform matrix is singular") from exc
    return LinearTransform(to_parent, name=name or node_name_from(target, "LinearTransform"))


def itk_text(node: LinearTransform) -> str:
    """ITK text (``AffineTransform_double_3_3``) for a linear transform node."""
    from_parent_lps = geometry.ras_to_lps_transform(np.linalg.inv(node.matrix_to_parent))
    params = [*from_parent_lps[:3, :3].reshape(-1), *from_parent_lps[:3, 3]]
    return (
        "#Insight Transform File V1.0\n"
        "#Transform 0\n"
        "Transform: AffineTransform_double_3_3\n"
        f"Parameters: {' '.join(repr(float(p)) for p in params)}\n"
        "FixedParameters: 0 0 0\n"
    )


def write_linear_transform(node: LinearTransform, path: str | os.PathLike) -> None:
    target = os.fspath(path)
    try:
        text = itk_text(node)
    except np.linalg.LinAlgError as exc:
        raise TransformFormatError(f"{node.name!r}: the transform matrix is singular") from exc
    try:
        with open(target, "w", encoding="ascii") as fh:
            fh.write(text)
    except OSError as exc:
        raise TransformFormatError(f"cannot write {target!r}: {exc.strerror or exc}") from exc


def read_transform(
    path: str | os.PathLike,
    name: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_VOLUME_SIZE,
) -> TransformNode:
    """Read any supported transform file: ITK text -> linear; NRRD/NIfTI vector image -> grid.

    ``max_bytes``: the most voxel data a displacement field may declare (None: no limit).
    """
    target = os.fspath(path)
    ext = file_extension(target)
    try:
        if ext in (".tfm", ".txt"):
            return read_linear_transform(target, name)
        if ext in (".nrrd", ".nhdr"):
            return nrrd_io.read_displacement_field(
                target, name or node_name_from(target, "GridTransform"), max_bytes
            )
        if ext in (".nii", ".nii.gz"):
            return nifti_io.read_displacement_field(
                target, name or node_name_from(target, "GridTransform"), max_bytes
            )
    except VolumeFormatError as exc:
        raise TransformFormatError(str(exc)) from exc
    if ext in (".h5", ".hdf5", ".mat"):
        raise UnsupportedFileTypeError(
            f"{ext} transform files (ITK HDF5/MATLAB) are not supported yet; use .tfm, .txt, .nrrd or .nii.gz"
        )
    raise UnsupportedFileTypeError(f"unknown transform file extension {ext!r} for {target!r}")


def write_transform(node: TransformNode, path: str | os.PathLike, compress: bool = True) -> None:
    """Write a transform: linear -> ``.tfm``/``.txt``; grid -> ``.nrrd``/``.nhdr``/``.nii(.gz)``."""
    target = os.fspath(path)
    ext = file_extension(target)
    if isinstance(node, LinearTransform):
        if ext in (".tfm", ".txt"):
            return write_linear_transform(node, target)
        raise UnsupportedFileTypeError(
            f"a linear transform can be saved as .tfm or .txt, not {ext or 'a file without extension'}"
        )
    if isinstance(node, GridTransform):
        if not node.from_parent:
            raise TransformFormatError(
                f"grid transform {node.name!r} holds to-parent displacements; files hold "
                "from-parent ones and inverting a grid is not supported yet"
            )
        if ext in (".nrrd", ".nhdr"):
            nrrd_io.write_displacement_field(node, target, compress=compress)
            return None
        if ext in (".nii", ".nii.gz"):
            nifti_io.write_displacement_field(node, target)
            return None
        if ext in (".h5", ".hdf5", ".mat"):
            raise UnsupportedFileTypeError(
                f"{ext} transform files are not supported yet; use .nrrd or .nii.gz"
            )
        raise UnsupportedFileTypeError(
            f"a grid transform can be saved as .nrrd or .nii.gz, not {ext!r}"
        )
    raise UnsupportedFileTypeError(f"cannot save {type(node).__name__} as a transform file")
