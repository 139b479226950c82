"""glTF 2.0 export of 3-D view content (models, segment surfaces, fiducial spheres, box).

One JSON document with a single buffer inlined as a base64 data URI, like VTK's glTF exporter
that Slicer's ``/threeDGraphics`` uses: one mesh and one node per surface, positions and
normals as float32, indices as uint32, a PBR material per surface colour. Coordinates stay in
RAS millimetres (clients rotate to their Y-up convention, as Slicer's three.js demo does).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

import numpy as np

from voxweb.render.surfaces import Surface, box_lines

ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
FLOAT, UNSIGNED_INT = 5126, 5125
TRIANGLES, LINES = 4, 1


class _Builder:
    def __init__(self) -> None:
        self.blob = bytearray()
        self.doc: dict = {
            "asset": {"version": "2.0", "generator": "voxweb"},
            "scene": 0,
            "scenes": [{"nodes": []}],
            "nodes": [],
            "meshes": [],
            "materials": [],
            "accessors": [],
            "bufferViews": [],
            "buffers": [],
        }

    def _view(self, data: bytes, target: int) -> int:
        while len(self.blob) % 4:
            self.blob.append(0)
        self.doc["bufferViews"].append(
            {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data), "target": target}
        )
        self.blob += data
        return len(self.doc["bufferViews"]) - 1

    def _accessor(self, array: np.ndarray, kind: str, target: int, minmax: bool = False) -> int:
        component = UNSIGNED_INT if array.dtype == np.uint32 else FLOAT
        accessor = {
            "bufferView": self._view(array.tobytes(), target),
            "componentType": component,
            "count": int(array.shape[0]),
            "type": kind,
        }
        if minmax and len(array):
            accessor["min"] = [float(v) for v in array.min(axis=0)]
            accessor["max"] = [float(v) for v in array.max(axis=0)]
        self.doc["accessors"].append(accessor)
        return len(self.doc["accessors"]) - 1

    def add(self, name, vertices, indices, normals, color, opacity, mode) -> None:
        positions = np.ascontiguousarray(vertices, dtype=np.float32)
        attributes = {"POSITION": self._accessor(positions, "VEC3", ARRAY_BUFFER, minmax=True)}
        if normals is not None:
            attributes["NORMAL"] = self._accessor(
                np.ascontiguousarray(normals, dtype=np.float32), "VEC3", ARRAY_BUFFER
            )
        flat = np.ascontiguousarray(np.asarray(indices).reshape(-1), dtype=np.uint32)
        material = {
            "name": name,
            "pbrMetallicRoughness": {
                "baseColorFactor": [float(c) for c in color] + [float(opacity)],
                "metallicFactor": 0.0,
                "roughnessFactor": 0.8,
            },
            "doubleSided": True,
        }
        if opacity < 1:
            material["alphaMode"] = "BLEND"
        self.doc["materials"].append(material)
        primitive = {
            "attributes": attributes,
            "indices": self._accessor(flat[:, None], "SCALAR", ELEMENT_ARRAY_BUFFER),
            "material": len(self.doc["materials"]) - 1,
            "mode": mode,
        }
        self.doc["meshes"].append({"name": name, "primitives": [primitive]})
        self.doc["nodes"].append({"name": name, "mesh": len(self.doc["meshes"]) - 1})
        self.doc["scenes"][0]["nodes"].append(len(self.doc["nodes"]) - 1)

    def finish(self) -> dict:
        data = base64.b64encode(bytes(self.blob)).decode("ascii")
        self.doc["buffers"].append(
            {"byteLength": len(self.blob), "uri": "data:application/octet-stream;base64," + data}
        )
        for key in ("meshes", "materials", "accessors", "bufferViews"):
            if not self.doc[key]:
                del self.doc[key]
        return self.doc


def gltf_document(surfaces: Sequence[Surface], box: np.ndarray | None = None) -> dict:
    """A glTF 2.0 document (as a dict) with one mesh + node per non-empty surface."""
    builder = _Builder()
    for surface in surfaces:
        if len(surface.faces) == 0:
            continue
        builder.add(
            surface.name,
            surface.vertices,
            surface.faces,
            surface.normals,
            surface.color,
            surface.opacity,
            TRIANGLES,
        )
    if box is not None:
        corners, edges = box_lines(box)
        builder.add("BoundingBox", corners, edges, None, (1.0, 1.0, 1.0), 1.0, LINES)
    return builder.finish()


def gltf_bytes(surfaces: Sequence[Surface], box: np.ndarray | None = None) -> bytes:
    return json.dumps(gltf_document(surfaces, box)).encode("ascii")
