"""Workspace: the operations clients perform on the scene, shared by /slicer routes and exec.

Selecting nodes the way Slicer's routes do, loading files (from a confined path, a fetched
URL or a sample name) into the scene, saving, reloading from the file a node came from,
replacing a volume from an uploaded NRRD, showing a volume in the slice views, and the
layout. Every change happens under the scene lock. Errors are plain exceptions with
messages for people; the HTTP edge picks the status. Nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxweb.datadir import make_private_dirs
from voxweb.io import load as load_io
from voxweb.io import nrrd as nrrd_io
from voxweb.io import sampledata
from voxweb.io.limits import DEFAULT_MAX_VOLUME_SIZE
from voxweb.scene import (
    GridTransform,
    LabelMapVolume,
    Layout,
    LinearTransform,
    MarkupsFiducial,
    Node,
    ScalarVolume,
    Scene,
    Selection,
    SliceView,
    layout_name,
)
from voxweb.services.fetch import FetchPolicy, fetch_to_file
from voxweb.services.files import open_for_reading, write_confined
from voxweb.services.tracking import update_tracker

logger = logging.getLogger(__name__)


class NoMatchError(LookupError):
    """A filter or pattern matched no node."""


class WrongNodeClassError(ValueError):
    """A pattern matched a node of another kind than the request is about."""


def _first_match(scene: Scene, pattern: str, kind: type, what: str) -> Node | None:
    """The first node ``pattern`` matches (None for none); one of another kind is refused."""
    matches = scene.find_nodes(pattern)
    if matches and not isinstance(matches[0], kind):
        raise WrongNodeClassError(f"node {matches[0].name!r} ({matches[0].id}) is not {what}")
    return matches[0] if matches else None


@dataclass
class StorageRecord:
    """Where a node was loaded from, so it can be reloaded (``PUT /slicer/mrml``)."""

    path: Path
    filetype: str
    properties: dict[str, str]
    #: A client's path inside the file roots: re-opened through the same confinement.
    confined: bool = False


@dataclass
class Workspace:
    scene: Scene = field(default_factory=Scene)
    file_roots: list[Path] = field(default_factory=list)
    fetch_policy: FetchPolicy = field(default_factory=FetchPolicy)
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "voxweb")
    sample_download: bool = True
    #: Show the first volume of an empty scene in the 3-D views (``--no-auto-volume-rendering``).
    auto_volume_rendering: bool = True
    #: Most voxel bytes a loaded volume may declare (``--max-volume-size``).
    max_volume_size: int = DEFAULT_MAX_VOLUME_SIZE
    storage: dict[str, StorageRecord] = field(default_factory=dict)
    #: Samples whose download failed in this run (offline): not offered again.
    _failed_samples: set[str] = field(default_factory=set)

    # --- selection -----------------------------------------------------------------------

    def select(
        self, node_id: str | None = None, class_name: str | None = None, name: str | None = None
    ) -> list[Node]:
        """Slicer's /mrml filter: an exact ID wins; else is-a ``class`` and exact ``name``."""
        with self.scene.lock:
            if node_id:
                node = self.scene.get_node_by_id(node_id)
                return [node] if node is not None else []
            nodes = self.scene.nodes_of_class(class_name or "vtkMRMLNode")
            if name:
                nodes = [n for n in nodes if n.name == name]
            return nodes

    def get(self, pattern: str) -> Node:
        """Slicer's getNode: glob on names and IDs, first match in scene order."""
        return self.scene.get_node(pattern)

    def selection(self) -> Selection:
        return self.scene.get_node_by_id("vtkMRMLSelectionNodeSingleton")  # type: ignore[return-value]

    def layout(self) -> Layout:
        return self.scene.get_node_by_id("vtkMRMLLayoutNodevtkMRMLLayoutNode")  # type: ignore[return-value]

    def slice_views(self) -> list[SliceView]:
        return [
            n for n in self.scene.nodes_of_class("vtkMRMLSliceNode") if isinstance(n, SliceView)
        ]

    # --- loading -------------------------------------------------------------------------

    def load_file(
        self,
        path: str | os.PathLike[str],
        filetype: str,
        properties: Mapping[str, Any] | None = None,
        show: bool = True,
    ) -> list[Node]:
        """Read a file (already vetted by the caller) and add what it holds to the scene."""
        props = {k: str(v) for k, v in (properties or {}).items()}
        nodes = load_io.load_file(path, filetype, props, self.max_volume_size)
        return self._add_loaded(nodes, StorageRecord(Path(path), filetype, props), show)

    def load_client_file(
        self, path: str, filetype: str, properties: Mapping[str, Any] | None = None
    ) -> list[Node]:
        """Read a client's file from inside the file roots (opened race-free) into the scene."""
        props = {k: str(v) for k, v in (properties or {}).items()}
        with open_for_reading(path, self.file_roots) as opened:
            nodes = load_io.load_file(opened.reader, filetype, props, self.max_volume_size)
        record = StorageRecord(opened.path, filetype, props, confined=True)
        return self._add_loaded(nodes, record, show=True)

    def _add_loaded(self, nodes: list[Node], record: StorageRecord, show: bool) -> list[Node]:
        name = record.properties.get("name")
        with self.scene.lock:
            for index, node in enumerate(nodes):
                if name and index == 0:
                    node.name = name
                if node.name:
                    # Slicer's readers make names unique too: MRHead twice is MRHead, MRHead_1
                    node.name = self.scene.unique_name(node.name)
                self.scene.add(node)
                self.storage[node.id] = record
            if show:
                self._show_first_volume(nodes)
        return nodes

    def load_url(
        self, url: str, filetype: str, properties: Mapping[str, Any] | None = None
    ) -> list[Node]:
        path = fetch_to_file(url, self.fetch_policy, self._download_dir())
        try:
            return self.load_file(path, filetype, properties)
        finally:
            for node_id, record in list(self.storage.items()):
                if record.path == path:
                    del self.storage[node_id]  # the temporary copy is about to go
            shutil.rmtree(path.parent, ignore_errors=True)

    def sample_availability(self) -> list[dict[str, Any]]:
        """Each sample and whether it can load now: from a local copy, or by download (unless
        downloads are off, or one already failed in this run)."""
        out = []
        for name in sampledata.SAMPLES:
            local = sampledata.local_copy(name, self.cache_dir / "samples") is not None
            downloadable = self.sample_download and name not in self._failed_samples
            out.append({"name": name, "local": local, "loadable": local or downloadable})
        return out

    def load_sample(self, name: str) -> list[Node]:
        """Load a sample by Slicer's name (MRHead...), downloading or using an offline copy."""
        try:
            path, source, how = sampledata.fetch(
                name, self.cache_dir / "samples", self.sample_download
            )
        except sampledata.SampleDataError:
            self._failed_samples.add(name)  # the viewer stops offering it (offline)
            raise
        nodes = self.load_file(path, source.file_type, {"name": source.node_name})
        logger.info("loaded sample %s (%s, from %s)", name, path.name, how)
        return nodes

    def _download_dir(self) -> Path:
        folder = self.cache_dir / "downloads"
        return make_private_dirs(folder)

    # --- saving and reloading ------------------------------------------------------------

    def save(self, node: Node, path: Path, properties: Mapping[str, Any] | None = None) -> None:
        """Write ``node`` to a path the server chose (clients' paths: ``save_client_file``)."""
        with self.scene.lock:
            load_io.save_node(node, path, {k: str(v) for k, v in (properties or {}).items()})

    def save_client_file(
        self, node: Node, path: str, properties: Mapping[str, Any] | None = None
    ) -> Path:
        """Write ``node`` to a client's path inside the file roots (placed race-free)."""
        props = {k: str(v) for k, v in (properties or {}).items()}
        with self.scene.lock:
            return write_confined(
                path, self.file_roots, lambda target: load_io.save_node(node, target, props)
            )

    def reload(self, nodes: Sequence[Node]) -> list[str]:
        """Re-read nodes from the files they came from; returns the IDs that were reloaded."""
        reloaded = []
        for node in nodes:
            record = self.storage.get(node.id)
            if record is None or not record.path.exists():
                continue
            if record.confined:
                with open_for_reading(record.path, self.file_roots) as opened:
                    fresh = load_io.load_file(
                        opened.reader, record.filetype, record.properties, self.max_volume_size
                    )
            else:
                fresh = load_io.load_file(
                    record.path, record.filetype, record.properties, self.max_volume_size
                )
            fresh = fresh[0]
            with self.scene.lock:
                _copy_content(fresh, node)
            reloaded.append(node.id)
        return reloaded

    def remove(self, nodes: Sequence[Node]) -> None:
        with self.scene.lock:
            for node in nodes:
                if node in self.scene:
                    self.scene.remove(node)
                    self.storage.pop(node.id, None)
            self._forget_missing()

    def clear(self) -> None:
        with self.scene.lock:
            self.scene.clear()
            self.storage.clear()
            self._forget_missing()

    def _forget_missing(self) -> None:
        """Views and the selection must not point at removed nodes."""
        selection = self.selection()
        if selection.active_volume_id and selection.active_volume_id not in self.scene:
            selection.active_volume_id = None
        if selection.active_label_volume_id and selection.active_label_volume_id not in self.scene:
            selection.active_label_volume_id = None
        for view in self.slice_views():
            for attr in ("background_volume_id", "foreground_volume_id", "label_volume_id"):
                if getattr(view, attr) and getattr(view, attr) not in self.scene:
                    setattr(view, attr, None)

    # --- volumes -------------------------------------------------------------------------

    def set_window_level(self, volume: ScalarVolume, window: float, level: float) -> None:
        """Keep a window/level chosen in a viewer in the scene (automatic W/L turns off)."""
        with self.scene.lock:
            display = volume.display
            display.auto_window_level = False
            display.window, display.level = float(window), float(level)
            volume.modified()

    def volumes(self) -> list[ScalarVolume]:
        return [
            n
            for n in self.scene.nodes_of_class("vtkMRMLScalarVolumeNode")
            if isinstance(n, ScalarVolume)
        ]

    def put_volume(self, pattern: str | None, data: bytes | bytearray | memoryview) -> ScalarVolume:
        """Create or replace a volume from NRRD bytes (``POST /slicer/volume``); it becomes active.

        The NRRD is fully parsed before the scene is touched, so bad input changes nothing.
        """
        parsed = nrrd_io.read_volume(data, max_bytes=self.max_volume_size)
        pattern = pattern or "vtkMRMLScalarVolumeNode*"
        with self.scene.lock:
            target = _first_match(self.scene, pattern, ScalarVolume, "a volume")
            if target is not None:
                # The parsed node already measured its window/level: take it, not recompute it.
                target.display.auto_window_level = True
                target.display.window, target.display.level = (
                    parsed.display.window,
                    parsed.display.level,
                )
                target.array, target.ijk_to_ras = parsed.array, parsed.ijk_to_ras
            else:
                target = parsed
                target.name = pattern
                self.scene.add(target)
            self.show_volume(target)
        return target

    def show_volume(self, volume: ScalarVolume, fit: bool = True) -> None:
        """Make ``volume`` the active one and show it in every slice view (Slicer's propagate)."""
        with self.scene.lock:
            selection = self.selection()
            label = isinstance(volume, LabelMapVolume)
            if label:
                selection.active_label_volume_id = volume.id
            else:
                selection.active_volume_id = volume.id
            for view in self.slice_views():
                if label:
                    view.label_volume_id = volume.id
                else:
                    view.background_volume_id = volume.id
                if fit and not label:
                    fit_view_to_volume(view, volume)
            if not label and self.auto_volume_rendering:
                self._volume_render_active(volume, fit)

    def set_label_opacity(self, opacity: float) -> None:
        """How opaque label maps are drawn in every slice view (0 to 1)."""
        if not 0.0 <= float(opacity) <= 1.0:
            raise ValueError(f"label opacity must be between 0 and 1, not {opacity}")
        with self.scene.lock:
            for view in self.slice_views():
                view.label_opacity = float(opacity)  # bumps its mtime: views redraw

    def _volume_render_active(self, volume: ScalarVolume, fit: bool = True) -> None:
        """Show the active ``volume`` by volume rendering in the 3-D views whose volume was
        chosen automatically (or that show none): the 3-D view follows the volume chosen in the
        slice views. A view whose volume a script chose (volume rendering logic) keeps it.
        Not Slicer, which volume-renders only on request: a remote client should see data."""
        for view in self.scene.nodes_of_class("vtkMRMLViewNode"):
            current = getattr(view, "volume_rendering_id", "")
            missing = current is None or (current and current not in self.scene)
            if not (missing or getattr(view, "volume_rendering_auto", False)):
                continue
            if current == volume.id:
                continue
            old = self.scene.get_node_by_id(current) if current else None
            view.volume_rendering_id = volume.id
            view.volume_rendering_auto = True
            same_place = isinstance(old, ScalarVolume) and np.allclose(
                old.ras_bounds(), volume.ras_bounds(), atol=1e-3
            )
            if old is None or (fit and not same_place):
                view.camera = None  # refit to the new content at the next render

    def _show_first_volume(self, nodes: Sequence[Node]) -> None:
        for node in nodes:
            if isinstance(node, ScalarVolume):
                self.show_volume(node)
                return

    def cycle_volume(self, step: int) -> ScalarVolume:
        """Make the next (+1) or previous (-1) volume active (``/slicer/volumeSelection``)."""
        with self.scene.lock:
            volumes = [v for v in self.volumes() if not isinstance(v, LabelMapVolume)]
            if not volumes:
                raise NoMatchError("there are no volumes to select")
            current = self.selection().active_volume_id
            ids = [v.id for v in volumes]
            index = ids.index(current) if current in ids else -step
            chosen = volumes[(index + step) % len(volumes)]
            self.show_volume(chosen, fit=False)
            return chosen

    # --- transforms, points, tracking ---------------------------------------------------

    def put_grid_transform(
        self, pattern: str | None, data: bytes | bytearray | memoryview
    ) -> GridTransform:
        """Create or replace a grid transform from a NRRD displacement field; bad input
        changes nothing (it is parsed before the scene is touched)."""
        parsed = nrrd_io.read_displacement_field(bytes(data), max_bytes=self.max_volume_size)
        with self.scene.lock:
            glob = pattern or "vtkMRMLGridTransformNode*"
            target = _first_match(self.scene, glob, GridTransform, "a grid transform")
            if target is None:
                parsed.name = pattern or "GridTransform"
                return self.scene.add(parsed)
            target.displacement = parsed.displacement
            target.ijk_to_ras = parsed.ijk_to_ras
            return target

    def put_linear_transform(
        self, pattern: str | None, matrix: np.ndarray, name: str | None = None
    ) -> LinearTransform:
        """Set the matrix (and name) of the transform ``pattern`` matches, or add one."""
        matrix = np.asarray(matrix, dtype=float)
        if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
            raise ValueError(f"matrix must be 4x4 finite numbers, got shape {matrix.shape}")
        with self.scene.lock:
            node = (
                _first_match(self.scene, pattern, LinearTransform, "a linear transform")
                if pattern
                else None
            )
            if node is None:
                return self.scene.add(LinearTransform(matrix, name=name or pattern or ""))
            node.matrix_to_parent = matrix
            if name:
                node.name = name
            return node

    def place_control_point(
        self, pattern: str | None, index: int, position: Sequence[float]
    ) -> MarkupsFiducial:
        """Move control point ``index`` of a point list; one past the last adds a point."""
        with self.scene.lock:
            node = self.get(pattern or "vtkMRMLMarkupsFiducialNode*")
            if not isinstance(node, MarkupsFiducial):
                raise WrongNodeClassError(f"node {node.name!r} ({node.id}) is not a fiducial list")
            count = len(node.control_points)
            if index == count:
                node.add_point(list(position))
            elif 0 <= index < count:
                node.set_point_position(index, list(position))
            else:
                raise ValueError(
                    f"{node.name} has {count} control points; index {index} is out of range"
                )
            return node

    def set_tracker(
        self, rotation: np.ndarray | None, translation: Sequence[float] | None
    ) -> LinearTransform:
        """Slicer's ``/tracking``: move the "tracker" transform (and its device box)."""
        return update_tracker(self.scene, rotation, translation)

    # --- layout --------------------------------------------------------------------------

    def set_layout(self, name: str | int) -> str:
        resolved = layout_name(name)
        self.layout().layout_name = resolved
        return resolved

    def set_gui_contents(self, contents: str) -> None:
        """What Slicer's window shows: ``viewers`` only or the ``full`` application."""
        if contents not in ("viewers", "full"):
            raise ValueError("contents must be 'viewers' or 'full'")
        self.layout().gui_contents = contents


def fit_view_to_volume(view: SliceView, volume: ScalarVolume) -> None:
    """Centre a slice view on a volume and size its field of view to it (Slicer's fit)."""
    rotation = view.axes()
    bounds = volume.ras_bounds()  # [[xmin, xmax], [ymin, ymax], [zmin, zmax]] or flat
    corners = _corners(np.asarray(bounds, dtype=float))
    in_slice = corners @ rotation  # coordinates along the view's x, y and normal axes
    low, high = in_slice.min(axis=0), in_slice.max(axis=0)
    view.offset = float((low[2] + high[2]) / 2)
    view.center_xy = (float((low[0] + high[0]) / 2), float((low[1] + high[1]) / 2))
    width, height = high[0] - low[0], high[1] - low[1]
    aspect = view.dimensions[0] / max(view.dimensions[1], 1)
    width = max(width, height * aspect)
    view.field_of_view = (float(width), float(width / aspect), view.field_of_view[2])


def _corners(bounds: np.ndarray) -> np.ndarray:
    b = bounds.reshape(3, 2) if bounds.size == 6 else bounds
    return np.array([[x, y, z] for x in b[0] for y in b[1] for z in b[2]])


def _copy_content(source: Node, target: Node) -> None:
    """Move what a freshly read node holds into an existing node, keeping its identity."""
    keep = {"id", "name", "scene", "mtime", "_ready", "parent_transform_id", "attributes"}
    for key, value in vars(source).items():
        if key not in keep:
            object.__setattr__(target, key, value)
    target.modified()
