"""The namespace ``/slicer/exec`` code runs in.

It holds voxweb's own API (``scene``, ``workspace``, the node classes, ``np``) and Slicer's
names (``slicer``, ``SampleData``, ``json``...). ``import slicer`` and ``import SampleData``
inside a snippet resolve to the adapters in this package through the namespace's own
``__import__``; every other import is the normal one, and nothing is added to ``sys.modules``.
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
from voxweb.compat.slicer_module import sampledata_module, slicer_module
from voxweb.services.workspace import Workspace


def exec_namespace(workspace: Workspace, dicom: Any = None) -> dict[str, Any]:
    slicer = slicer_module(workspace)
    sample_data = sampledata_module(workspace)
    provided = {"slicer": slicer, "slicer.util": slicer.util, "SampleData": sample_data}
    real_import = builtins.__import__

    def voxweb_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if level == 0 and name in provided:
            if name == "slicer.util" and not fromlist:
                return slicer
            return provided[name]
        return real_import(name, globals, locals, fromlist, level)

    namespace_builtins = dict(vars(builtins))
    namespace_builtins["__import__"] = voxweb_import
    namespace: dict[str, Any] = {
        "__builtins__": namespace_builtins,
        "__name__": "__voxweb_exec__",
        "slicer": slicer,
        "SampleData": sample_data,
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
