"""The namespace ``/slicer/exec`` code runs in, like Slicer's WebServer exec handler's.

It holds Slicer's names (``slicer``, ``vtk`` — the real VTK package —, ``qt`` and ``ctk`` as
headless stand-ins, ``np``, ``json``, ``os``...) plus voxweb's own API (``scene``,
``workspace``, ``dicom``, the scene node classes). Imports of Slicer's modules inside a
snippet (``import slicer``, ``from slicer.util import *``, ``import SampleData, qt``) resolve
to this package through the namespace's own ``__import__``; every other import is the normal
one, and nothing is added to ``sys.modules``.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import time
from typing import Any

import numpy as np

from voxweb import scene as scene_module
from voxweb.render.service import RenderService
from voxweb.scripting.headless import ctk_module, qt_module
from voxweb.scripting.sampledata import sampledata_module
from voxweb.scripting.slicer_module import slicer_module
from voxweb.services.workspace import Workspace

# Slicer's script modules a snippet may import, and the voxweb module that provides each
# (its ``script_module(workspace)`` builds the module object), loaded on first import.
SCRIPT_MODULES: dict[str, str] = {
    "sitkUtils": "voxweb.scripting.sitkutils",
    "SegmentStatistics": "voxweb.scripting.segment_statistics",
    "vtkSegmentationCorePython": "voxweb.scripting.segmentation_core",
    "vtkSegmentationCore": "voxweb.scripting.segmentation_core",
    "ScreenCapture": "voxweb.scripting.screen_capture",
}


def _load_script_module(name: str, workspace: Workspace) -> Any:
    import importlib

    try:
        provider = importlib.import_module(SCRIPT_MODULES[name])
    except ModuleNotFoundError as exc:
        if exc.name != SCRIPT_MODULES[name]:
            raise
        raise ModuleNotFoundError(
            f"No module named '{name}' (not provided by voxweb yet)"
        ) from None
    return provider.script_module(workspace)


def exec_namespace(
    workspace: Workspace, dicom: Any = None, render: RenderService | None = None
) -> dict[str, Any]:
    """The globals of an exec script. ``render``: the server's render service (one of its
    own when the namespace is made without a server, as in tests and embedding scripts)."""
    import vtk  # the real package, as in Slicer (imported here: it takes half a second)
    import vtk.util.numpy_support  # noqa: F401 - Slicer scripts use vtk.util.numpy_support

    slicer = slicer_module(workspace, render or RenderService(workspace.scene))
    provided: dict[str, Any] = {
        "slicer": slicer,
        "slicer.util": slicer.util,
        "SampleData": sampledata_module(workspace),
        "qt": qt_module(),
        "ctk": ctk_module(),
    }
    real_import = builtins.__import__

    def voxweb_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if level == 0 and name not in provided and name in SCRIPT_MODULES:
            provided[name] = _load_script_module(name, workspace)
        if level == 0 and name in provided:
            if "." in name and not fromlist:
                return provided[name.split(".")[0]]  # "import slicer.util" binds "slicer"
            return provided[name]
        return real_import(name, globals, locals, fromlist, level)

    namespace_builtins = dict(vars(builtins))
    namespace_builtins["__import__"] = voxweb_import
    namespace: dict[str, Any] = {
        "__builtins__": namespace_builtins,
        "__name__": "__voxweb_exec__",
        "slicer": slicer,
        "vtk": vtk,
        "qt": provided["qt"],
        "ctk": provided["ctk"],
        "SampleData": provided["SampleData"],
        "scene": workspace.scene,
        "workspace": workspace,
        "dicom": dicom,  # services.dicom_bridge.DicomBridge: load_series, load_study, store
        "np": np,
        "numpy": np,
        "json": json,
        "os": os,
        "time": time,
        "logging": logging,
    }
    for name in scene_module.__all__:
        namespace.setdefault(name, getattr(scene_module, name))
    return namespace
