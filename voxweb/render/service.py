"""Rendering service: turns view requests into encoded images, one per scene.

It owns the glue between the scene and the pure renderers: under ``scene.lock`` it applies a
request's view changes (slice position, orientation, camera moves; skipped with
``stateless``), snapshots what the renderer needs (array references, matrices, display
numbers, node modification stamps) and builds a cache key; then it renders and encodes
*without* the lock. Encoded bytes are cached by ETag (:mod:`voxweb.render.cache`). Nothing
here knows about HTTP or Slicer's parameter names: the HTTP edge parses those.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from voxweb.render import camera as cams
from voxweb.render import colormaps
from voxweb.render import encode as encoding
from voxweb.render.cache import RenderCache, Rendered, etag_of
from voxweb.render.gltf import gltf_bytes
from voxweb.render.intersections import ModelSection
from voxweb.render.markups_overlay import markup_shapes, markup_surfaces
from voxweb.render.scene3d import RenderOptions, ThreeDScene, VolumeLayer
from voxweb.render.segment_overlay import segment_overlays, visible_segments_3d
from voxweb.render.slice import Layer, SliceGeometry, SliceLayers, render_slice
from voxweb.render.surfaces import Surface, mask_surface, union_bounds, vertex_normals
from voxweb.render.threed import make_renderer
from voxweb.scene import (
    LabelMapVolume,
    Model,
    ScalarVolume,
    Scene,
    Segmentation,
    SliceView,
    ThreeDView,
    TransformChainError,
)
from voxweb.scene.views import LAYOUT_GRIDS, Camera

logger = logging.getLogger(__name__)


#: What an empty 3-D view's camera fits (a 200 mm cube around the origin).
_DEFAULT_BOUNDS = np.array([-100, 100, -100, 100, -100, 100.0])


class RenderError(ValueError):
    """A request that cannot be rendered (unknown view, bad parameter); the message says why."""


@dataclass
class ImageOptions:
    """Output encoding: ``png`` or ``jpeg`` with a JPEG quality (1-100)."""

    fmt: str = "png"
    quality: int = 85

    def normalised(self) -> ImageOptions:
        fmt = self.fmt.lower()
        if fmt == "jpg":
            fmt = "jpeg"
        if fmt not in ("png", "jpeg"):
            raise RenderError(f"format must be png or jpeg, not {self.fmt!r}")
        if not 1 <= int(self.quality) <= 100:
            raise RenderError(f"quality must be 1..100, not {self.quality}")
        return ImageOptions(fmt, int(self.quality))


@dataclass
class SliceRequest:
    """What a slice image request asks for; ``None`` means "leave as it is"."""

    view: str = "Red"
    orientation: str | None = None
    scroll_to: float | None = None
    offset: float | None = None
    copy_from: str | None = None
    size: tuple[int, int] | None = None
    window: float | None = None
    level: float | None = None
    stateless: bool = False
    fiducials: bool = False
    image: ImageOptions = field(default_factory=ImageOptions)


@dataclass
class ThreeDRequest:
    """A 3-D view image request: view (index or name), camera moves, size, quality."""

    view: str | None = None
    size: tuple[int, int] | None = None
    look_from: str | None = None
    roll: float = 0.0
    orbit_x: float = 0.0
    orbit_y: float = 0.0
    pan_x: float = 0.0
    pan_y: float = 0.0
    zoom: float | None = None
    centre: bool = False  # fit the camera to the scene, keeping the viewing direction
    stateless: bool = False
    mode: str = "composite"
    quality: str = "fast"
    box: bool | None = None
    image: ImageOptions = field(default_factory=ImageOptions)


def find_slice_view(scene: Scene, name: str) -> SliceView:
    """A slice view by name, case-insensitive; RenderError listing the views otherwise."""
    views = [n for n in scene.nodes_of_class("vtkMRMLSliceNode") if isinstance(n, SliceView)]
    for view in views:
        if view.name.lower() == name.strip().lower():
            return view
    raise RenderError(
        f"no slice view named {name!r} (views: {', '.join(v.name for v in views) or 'none'})"
    )


def clone_slice_view(view: SliceView) -> SliceView:
    """A detached copy (not in any scene) for stateless rendering."""
    copy = SliceView(view.name, view.orientation)
    for attr in (
        "rotation",
        "offset",
        "center_xy",
        "field_of_view",
        "dimensions",
        "background_volume_id",
        "foreground_volume_id",
        "foreground_opacity",
        "label_volume_id",
        "label_opacity",
        "label_outline",
    ):
        setattr(copy, attr, getattr(view, attr))
    return copy


def fit_slice_view(view: SliceView, bounds: np.ndarray) -> None:
    """Centre ``view`` on RAS ``bounds`` (6 values) and size its field of view to them."""
    b = np.asarray(bounds, dtype=float).reshape(3, 2)
    corners = np.array([[x, y, z] for x in b[0] for y in b[1] for z in b[2]])
    in_slice = corners @ view.axes()
    low, high = in_slice.min(axis=0), in_slice.max(axis=0)
    view.offset = float((low[2] + high[2]) / 2)
    view.center_xy = (float((low[0] + high[0]) / 2), float((low[1] + high[1]) / 2))
    aspect = view.dimensions[0] / max(view.dimensions[1], 1)
    width = max(high[0] - low[0], (high[1] - low[1]) * aspect)
    view.field_of_view = (float(width), float(width / aspect), view.field_of_view[2])


def voxel_centre_range(volume: ScalarVolume, normal: np.ndarray) -> tuple[float, float]:
    """Min and max of the volume's voxel centres along ``normal`` (for ``scroll_to``)."""
    nk, nj, ni = volume.array.shape
    corners = np.array(
        [[i, j, k, 1.0] for i in (0, ni - 1) for j in (0, nj - 1) for k in (0, nk - 1)]
    )
    ras = (np.asarray(volume.ijk_to_ras, dtype=float) @ corners.T)[:3].T
    along = ras @ np.asarray(normal, dtype=float)
    return float(along.min()), float(along.max())


class RenderService:
    """Renders the views of one scene; the server makes one (``ServerContext.render``)."""

    def __init__(self, scene: Scene, backend: str | None = None) -> None:
        self.scene = scene
        self.cache = RenderCache()
        self.backend = (backend or "auto").lower()
        self._label_luts: dict[tuple[str, int], np.ndarray] = {}
        self._surface_cache: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------------ slices

    def slice_image(self, request: SliceRequest) -> Rendered | None:
        """The encoded slice image, or None when the view shows no volume (Slicer's 404)."""
        options = request.image.normalised()
        with self.scene.lock:
            view = find_slice_view(self.scene, request.view)
            target = clone_slice_view(view) if request.stateless else view
            self._apply_slice_changes(target, request)
            geometry = self.slice_geometry(target, request.size)
            layers, signature = self._slice_layers(target, request)
        if layers.empty:
            return None
        key = ("slice", geometry.slice_to_ras, geometry.field_of_view, geometry.size, signature)
        key += (options.fmt, options.quality)

        def render(etag: str) -> Rendered:
            image = render_slice(geometry, layers)
            return self._encoded(image, options, etag)

        return self.cache.get_or_render(key, render)

    def slice_geometry(self, view: SliceView, size: tuple[int, int] | None) -> SliceGeometry:
        dims = size or (int(view.dimensions[0]), int(view.dimensions[1]))
        return SliceGeometry(
            view.slice_to_ras(), (float(view.field_of_view[0]), float(view.field_of_view[1])), dims
        )

    def _apply_slice_changes(self, view: SliceView, request: SliceRequest) -> None:
        # Slicer applies orientation last and its refit undoes scrollTo/offset; here the
        # orientation comes first so a position given in the same request sticks.
        background = self._volume(view.background_volume_id)
        if request.orientation:
            try:
                changed = request.orientation.lower() != view.orientation.lower()
                if changed or view.rotation is not None:
                    view.set_orientation(request.orientation)
                    if background is not None:
                        fit_slice_view(view, background.ras_bounds())
            except ValueError:
                raise RenderError(
                    f"orientation must be axial, sagittal or coronal, not {request.orientation!r}"
                ) from None
        if request.copy_from:
            source = find_slice_view(self.scene, request.copy_from)
            view.set_slice_to_ras(source.slice_to_ras())
            aspect = view.dimensions[1] / max(view.dimensions[0], 1)
            width = source.field_of_view[0]
            view.field_of_view = (width, width * aspect, source.field_of_view[2])
        if request.scroll_to is not None and background is not None:
            low, high = voxel_centre_range(background, view.axes()[:, 2])
            view.offset = low + float(request.scroll_to) * (high - low)
        if request.offset is not None:
            view.offset = float(request.offset)

    def _volume(self, node_id: str | None) -> ScalarVolume | None:
        node = self.scene.get_node_by_id(node_id) if node_id else None
        return node if isinstance(node, ScalarVolume) else None

    def _layer(self, volume: ScalarVolume, opacity: float, request: SliceRequest | None) -> Layer:
        display = volume.display
        colors = self._label_lut(volume) if isinstance(volume, LabelMapVolume) else None
        window, level = display.window, display.level
        if request is not None and colors is None:
            window = request.window if request.window is not None else window
            level = request.level if request.level is not None else level
        threshold = None
        if colors is None and display.apply_threshold:
            lower, upper = display.lower_threshold, display.upper_threshold
            threshold = (
                -np.inf if lower is None else float(lower),
                np.inf if upper is None else float(upper),
            )
        visible = float(display.opacity) if display.visible else 0.0
        return Layer(
            array=volume.array,
            ijk_to_ras=np.array(volume.ijk_to_ras, dtype=float),
            window=float(window),
            level=float(level),
            interpolate=bool(display.interpolate),
            opacity=float(opacity) * visible,
            colors=colors,
            lut=None if colors is not None else colormaps.lut(display.color_table),
            threshold=threshold,
        )

    def _slice_layers(
        self, view: SliceView, request: SliceRequest | None
    ) -> tuple[SliceLayers, tuple]:
        layers = SliceLayers()
        signature: list[object] = []
        bg = self._volume(view.background_volume_id)
        if bg is not None:
            layers.background = self._layer(bg, 1.0, request)
        fg = self._volume(view.foreground_volume_id)
        if fg is not None and view.foreground_opacity > 0:
            layers.foreground = self._layer(fg, view.foreground_opacity, request)
        lab = self._volume(view.label_volume_id)
        if lab is not None and view.label_opacity > 0:
            layer = self._layer(lab, view.label_opacity, None)
            if layer.colors is None:  # a scalar volume used as a label layer
                layer = Layer(
                    layer.array,
                    layer.ijk_to_ras,
                    colors=self._label_lut(lab),
                    opacity=layer.opacity,
                )
            layers.label = replace(layer, outline=bool(view.label_outline))
        if view.slab_mode != "none":  # thick slab (set by scripts through the reslice)
            slab = (view.slab_mode, int(view.slab_slices), float(view.slab_spacing))
            if layers.background is not None:
                layers.background = replace(layers.background, slab=slab)
            if layers.foreground is not None:
                layers.foreground = replace(layers.foreground, slab=slab)
            signature.append(("slab", slab))
        for name, node, layer in (
            ("bg", bg, layers.background),
            ("fg", fg, layers.foreground),
            ("label", lab, layers.label),
        ):
            if layer is not None and node is not None:
                signature.append(
                    (name, node.id, node.mtime, id(layer.array), layer.window, layer.level)
                    + (layer.interpolate, layer.opacity, layer.outline)
                    + (node.display.color_table, layer.threshold)
                )
        if not layers.empty:
            layers.segments, stamp = segment_overlays(self.scene, self._world)
            if stamp:
                signature.append(("segments", stamp))
            sections, stamp = self._model_sections()
            if sections:
                layers.intersections = sections
                signature.append(("sections", stamp))
        if request is not None and request.fiducials and not layers.empty:
            shapes, stamp = markup_shapes(self.scene, self._world)  # every markup type
            layers.markups = shapes
            signature.append(("markups", stamp))
        return layers, tuple(signature)

    def _model_sections(self) -> tuple[list[ModelSection], tuple]:
        """Models shown in slice views (their display's 2-D visibility) as cross-sections."""
        sections: list[ModelSection] = []
        stamp = []
        for node in self.scene.nodes_of_class("vtkMRMLModelNode"):
            if not isinstance(node, Model) or not node.visible or not node.visible_2d:
                continue
            if not len(node.faces):
                continue
            matrix = self._world(node)
            verts = node.vertices @ matrix[:3, :3].T + matrix[:3, 3]
            sections.append(ModelSection(verts, node.faces, tuple(node.color)))  # type: ignore[arg-type]
            stamp.append((node.id, node.mtime, matrix.tobytes()))
        return sections, tuple(stamp)

    def _label_lut(self, volume: ScalarVolume) -> np.ndarray:
        key = (volume.id, volume.mtime)
        lut = self._label_luts.get(key)
        if lut is not None:
            return lut
        array = volume.array
        top = 255 if array.dtype == np.uint8 else int(max(0, min(int(array.max()), 65535)))
        table = getattr(volume, "color_table", None)
        from voxweb.scene import ColorTable

        table = table if isinstance(table, ColorTable) else ColorTable()
        lut = np.zeros((top + 1, 4), dtype=np.uint8)
        for value in range(1, top + 1):
            lut[value] = [int(round(c * 255)) for c in table.color_of(value)]
        if len(self._label_luts) > 64:
            self._label_luts.clear()
        self._label_luts[key] = lut
        return lut

    # ------------------------------------------------------------------ 3-D views

    def find_threed_view(self, ref: str | None) -> ThreeDView:
        """A 3-D view by index (``0`` is the first, like ``widgetIndex``) or name (``View1``)."""
        views = self.three_d_views()
        text = (ref or "0").strip()
        if text.lstrip("-").isdigit():
            index = int(text)
            if 0 <= index < len(views):
                return views[index]
            raise RenderError(f"there is no 3-D view number {index} ({len(views)} view(s))")
        for view in views:
            if text.lower() in (view.name.lower(), f"view{view.singleton_tag}".lower()):
                return view
        raise RenderError(
            f"no 3-D view named {text!r} (views: {', '.join(v.name for v in views) or 'none'})"
        )

    def threed_image(self, request: ThreeDRequest) -> Rendered:
        """The encoded image of a 3-D view after the request's camera moves."""
        options = request.image.normalised()
        size = request.size or (512, 512)
        if request.mode not in ("composite", "mip"):
            raise RenderError(f"mode must be composite or mip, not {request.mode!r}")
        if request.quality not in ("fast", "full"):
            raise RenderError(f"quality must be fast or full, not {request.quality!r}")
        with self.scene.lock:
            view = self.find_threed_view(request.view)
            content, pending, signature, bounds = self._threed_content(view, request.box)
            camera = view.camera or self._fit_camera(bounds)
            camera = self._move_camera(camera, request, bounds)
            if not request.stateless and camera != view.camera:
                view.camera = camera
        render_options = RenderOptions(size, request.quality, request.mode)
        renderer = make_renderer(self.backend)
        if (
            self.backend == "auto"
            and renderer.name != "numpy"
            and _pixels_per_voxel(content, camera, size) > ZOOMED_PIXELS_PER_VOXEL
        ):
            # VTK's CPU ray caster shades with one gradient per voxel and cannot jitter: zoomed
            # in, every voxel shows as a tile ("wood grain"). The numpy caster interpolates
            # and jitters, so close-ups come from it.
            renderer = make_renderer("numpy")
        key = ("3d", renderer.name, camera, render_options, signature, options.fmt, options.quality)

        def render(etag: str) -> Rendered:
            content.surfaces = self._surfaces_of(pending) + content.surfaces
            pixels = renderer.render(content, camera, render_options)
            return self._encoded(Image.fromarray(pixels), options, etag)

        return self.cache.get_or_render(key, render)

    @staticmethod
    def _fit_camera(bounds: np.ndarray | None) -> Camera:
        return cams.reset_camera(bounds if bounds is not None else _DEFAULT_BOUNDS)

    def fitted_camera(self, view: ThreeDView) -> Camera:
        """The camera a view has, or the one its next render would fit to what it shows."""
        with self.scene.lock:
            if view.camera is not None:
                return view.camera
            return self._fit_camera(self._threed_content(view, None)[3])

    def _move_camera(
        self, camera: Camera, request: ThreeDRequest, bounds: np.ndarray | None = None
    ) -> Camera:
        fit = bounds if bounds is not None else _DEFAULT_BOUNDS
        try:
            if request.look_from:  # as Slicer: reset the zoom, centre the scene
                camera = cams.look_from_axis(camera, request.look_from, fit)
            if request.centre:
                camera = cams.centre_view(camera, fit)
            if request.orbit_x or request.orbit_y:
                camera = cams.orbit(camera, request.orbit_x, request.orbit_y)
            if request.roll:
                camera = cams.roll(camera, request.roll)
            if request.pan_x or request.pan_y:
                camera = cams.pan(camera, request.pan_x, request.pan_y)
            if request.zoom is not None:
                camera = cams.zoom(camera, request.zoom)
        except ValueError as exc:
            raise RenderError(str(exc)) from None
        return camera

    def _threed_content(self, view: ThreeDView, box: bool | None):
        """(ThreeDScene without segment surfaces, pending segment masks, signature, bounds).

        Runs under the scene lock: it only takes references and cheap copies.
        """
        content = ThreeDScene(background=tuple(view.background))  # type: ignore[arg-type]
        signature: list[object] = [tuple(view.background)]
        boxes = []
        volume = self._volume(view.volume_rendering_id)
        if volume is not None:
            content.volume = VolumeLayer(
                (volume.id, volume.mtime, id(volume.array)),
                volume.array,
                np.array(volume.ijk_to_ras, dtype=float),
                float(volume.display.window),
                float(volume.display.level),
                view.volume_preset,
                view.volume_crop_box if view.volume_cropping else None,
            )
            signature.append(("volume", content.volume.key, content.volume.window))
            signature.append((content.volume.level, content.volume.preset, content.volume.crop))
            boxes.append(volume.ras_bounds())
        for node in self.scene.nodes_of_class("vtkMRMLModelNode"):
            if isinstance(node, Model) and node.visible and len(node.faces):
                matrix = self._world(node)
                key = ("model", node.id, node.mtime, matrix.tobytes())
                verts = node.vertices @ matrix[:3, :3].T + matrix[:3, 3]
                normals = (
                    vertex_normals(verts, node.faces)
                    if node.normals is None or len(node.normals) != len(verts)
                    else _unit_rows(node.normals @ np.linalg.inv(matrix[:3, :3]))
                )
                surface = Surface(
                    key,
                    node.name,
                    "model",
                    verts,
                    node.faces,
                    normals,
                    tuple(node.color),  # type: ignore[arg-type]
                    float(node.opacity),
                    vertex_colors=model_vertex_colors(node),
                    representation=node.representation,
                    edge_color=tuple(node.edge_color) if node.edges_visible else None,  # type: ignore[arg-type]
                )
                content.surfaces.append(surface)
                signature.append(key + (node.color, node.opacity))
                boxes.append(surface.bounds())
        pending = []
        for node in self.scene.nodes_of_class("vtkMRMLSegmentationNode"):
            if not isinstance(node, Segmentation) or not getattr(node, "visible", True):
                continue
            matrix = self._world(node) @ node.ijk_to_ras
            for segment, color, opacity in visible_segments_3d(node):
                key = ("segment", node.id, node.mtime, segment.id, matrix.tobytes())
                signature.append(key + (color, opacity))
                if key not in self._surface_cache:
                    pending.append((key, node.mask(segment.id), matrix))
                name = f"{node.name}: {segment.name}"
                pending.append((key, name, color, opacity))
            boxes.append(_ras_box(matrix, node.shape))
        shapes, _ = markup_shapes(self.scene, self._world)
        for surface in markup_surfaces(shapes):  # glyphs, lines, ROI boxes, planes
            content.surfaces.append(surface)
            signature.append(surface.key)
            boxes.append(surface.bounds())
        bounds = union_bounds(boxes)
        show_box = view.box_visible if box is None else box
        if show_box and bounds is not None:
            content.box = bounds
            signature.append(("box",))
        return content, pending, tuple(signature), bounds

    def _world(self, node) -> np.ndarray:
        try:
            return np.asarray(self.scene.transform_to_world(node), dtype=float)
        except TransformChainError:
            return np.eye(4)

    def _surfaces_of(self, pending: list) -> list[Surface]:
        """Segment surfaces (marching cubes, cached by segmentation stamp), outside the lock."""
        out = []
        for item in pending:
            if isinstance(item[1], np.ndarray):
                key, mask, matrix = item
                verts, faces = mask_surface(mask, matrix)
                self._surface_cache[key] = (verts, faces, vertex_normals(verts, faces))
                continue
            key, name, color, opacity = item
            verts, faces, normals = self._surface_cache.get(key, (np.zeros((0, 3)),) * 3)
            out.append(
                Surface(
                    key, name, "segment", verts, faces.astype(np.int64), normals, color, opacity
                )
            )
        if len(self._surface_cache) > 256:
            for old in list(self._surface_cache)[:128]:
                self._surface_cache.pop(old, None)
        return out

    def gltf(self, widget_index: int = 0, box: bool = False) -> Rendered:
        """glTF 2.0 JSON of what a 3-D view shows as surfaces (no volume rendering)."""
        with self.scene.lock:
            view = self.find_threed_view(str(widget_index))
            content, pending, signature, bounds = self._threed_content(view, box)
        key = ("gltf", signature, box)

        def render(etag: str) -> Rendered:
            surfaces = self._surfaces_of(pending) + content.surfaces
            return Rendered(gltf_bytes(surfaces, content.box), "application/json", etag)

        return self.cache.get_or_render(key, render)

    # ------------------------------------------------------------------ screenshots

    def screenshot(
        self, size: tuple[int, int] | None = None, image: ImageOptions | None = None
    ) -> Rendered:
        """The current layout's views composed into one image (slice views black when empty)."""
        options = (image or ImageOptions()).normalised()
        w, h = size or (1024, 768)
        with self.scene.lock:
            layout = self.scene.get_node_by_id("vtkMRMLLayoutNodevtkMRMLLayoutNode")
            name = getattr(layout, "layout_name", "FourUp")
        grid = LAYOUT_GRIDS.get(name, LAYOUT_GRIDS["FourUp"])
        gap = 2
        canvas = Image.new("RGB", (w, h), (40, 40, 40))
        row_h = (h - gap * (len(grid) - 1)) // len(grid)
        tiles: dict[str, tuple[int, int, int, int]] = {}
        for r, row in enumerate(grid):
            col_w = (w - gap * (len(row) - 1)) // len(row)
            for c, cell in enumerate(row):
                x0, y0 = c * (col_w + gap), r * (row_h + gap)
                box = (x0, y0, x0 + col_w, y0 + row_h)
                if cell in tiles:  # a view spanning several cells
                    old = tiles[cell]
                    box = (
                        min(old[0], box[0]),
                        min(old[1], box[1]),
                        max(old[2], box[2]),
                        max(old[3], box[3]),
                    )
                tiles[cell] = box
        for cell, (x0, y0, x1, y1) in tiles.items():
            tile = self._tile(cell, (max(x1 - x0, 1), max(y1 - y0, 1)))
            canvas.paste(tile, (x0, y0))
        body = encoding.encode(canvas, options.fmt, options.quality)
        etag = '"' + hashlib.sha1(body).hexdigest()[:24] + '"'
        return Rendered(body, encoding.MEDIA_TYPES[options.fmt], etag)

    def _tile(self, cell: str, size: tuple[int, int]) -> Image.Image:
        if cell.startswith("3D:"):
            tag = cell[3:]
            views = self.three_d_views()
            match = [v for v in views if v.singleton_tag == tag]
            if not match:
                return Image.new("RGB", size, (0, 0, 0))
            index = views.index(match[0])
            request = ThreeDRequest(view=str(index), size=size, stateless=True)
            rendered = self.threed_image(request)
            return Image.open(io.BytesIO(rendered.body)).convert("RGB")
        with self.scene.lock:
            try:
                view = find_slice_view(self.scene, cell)
            except RenderError:
                return Image.new("RGB", size, (0, 0, 0))
            geometry = self.slice_geometry(view, size)
            layers, _ = self._slice_layers(view, SliceRequest(fiducials=True))
        if layers.empty:
            return Image.new("RGB", size, (0, 0, 0))
        return render_slice(geometry, layers).convert("RGB")

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _encoded(image: Image.Image, options: ImageOptions, etag: str) -> Rendered:
        body = encoding.encode(image, options.fmt, options.quality)
        return Rendered(body, encoding.MEDIA_TYPES[options.fmt], etag)

    def three_d_views(self) -> list[ThreeDView]:
        return [
            n for n in self.scene.nodes_of_class("vtkMRMLViewNode") if isinstance(n, ThreeDView)
        ]


def model_vertex_colors(model: Model) -> np.ndarray | None:
    """(N, 3) RGB of a model coloured by its active point scalars through its color table,
    or None when scalars are off (the model's solid colour)."""
    if not model.scalar_visible or not model.active_scalar:
        return None
    values = model.point_data.get(model.active_scalar)
    if values is None or len(values) != len(model.vertices):
        return None
    values = np.asarray(values, dtype=float)
    if values.ndim > 1:  # vectors colour by magnitude, as VTK's default
        values = np.linalg.norm(values.reshape(len(values), -1), axis=1)
    low, high = model.scalar_range or (float(np.nanmin(values)), float(np.nanmax(values)))
    name = model.scalar_color_table if colormaps.has_ramp(model.scalar_color_table) else "Viridis"
    table = colormaps.ramp(name)[:, :3]
    index = np.clip((values - low) / max(high - low, 1e-12) * 255.0 + 0.5, 0, 255)
    return table[np.nan_to_num(index).astype(np.int64)]


def _unit_rows(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v, dtype=float), where=n > 0)


def _ras_box(ijk_to_ras: np.ndarray, shape_kji) -> np.ndarray:
    from voxweb.scene.geometry import ras_bounds

    return ras_bounds(ijk_to_ras, shape_kji)


#: Above this many screen pixels per voxel (at the focal point) the numpy caster renders.
ZOOMED_PIXELS_PER_VOXEL = 5.0


def _pixels_per_voxel(content: ThreeDScene, camera: Camera, size: tuple[int, int]) -> float:
    """How many image pixels one voxel of the rendered volume spans at the focal point."""
    if content.volume is None:
        return 0.0
    voxel = float(np.min(np.linalg.norm(np.asarray(content.volume.ijk_to_ras)[:3, :3], axis=0)))
    distance = float(np.linalg.norm(np.subtract(camera.position, camera.focal_point)))
    view_height_mm = 2.0 * distance * np.tan(np.radians(camera.view_angle) / 2.0)
    if view_height_mm <= 0 or voxel <= 0:
        return 0.0
    return voxel * size[1] / view_height_mm


__all__ = [
    "ImageOptions",
    "RenderError",
    "RenderService",
    "SliceRequest",
    "ThreeDRequest",
    "etag_of",
]
