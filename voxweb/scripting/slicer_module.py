"""The ``slicer`` module a snippet sees: scene, util, app, modules and the vtkMRML classes.

Built once per workspace. Every ``vtkMRML...`` class registered by the family modules is an
attribute (``slicer.vtkMRMLScalarVolumeNode()``), as are the view-node constants
(``slicer.vtkMRMLLayoutNode.SlicerLayoutFourUpView``).
"""

from __future__ import annotations

import types

from voxweb.render.service import RenderService

# Importing the families registers their view classes.
from voxweb.scripting import (  # noqa: F401
    cameras,
    cli_modules,
    color_ramps,
    crop_volume,
    hierarchy,
    markups,
    markups_logic,
    models,
    registry,
    segmentation_core,
    segmentation_logic,
    segmentations,
    transforms,
    views,
    volumerendering,
    volumes,
)
from voxweb.scripting.app import Application
from voxweb.scripting.context import bind
from voxweb.scripting.modules import modules_namespace
from voxweb.scripting.mrml_scene import scene_view, vtkMRMLScene
from voxweb.scripting.util import util_module
from voxweb.services.workspace import Workspace


def slicer_module(workspace: Workspace, render: RenderService) -> types.ModuleType:
    bind(workspace, render)
    module = types.ModuleType(
        "slicer", "voxweb's headless implementation of Slicer's scripting API"
    )
    module.mrmlScene = scene_view(workspace.scene)
    module.util = util_module(workspace)
    module.app = Application(workspace)
    module.modules = modules_namespace(workspace)
    module.cli = cli_modules.cli_namespace(workspace)
    module.vtkMRMLScene = vtkMRMLScene
    for name in registry.known_classes():
        setattr(module, name, registry.view_class(name))
    for cls in (
        volumes.vtkMRMLScalarVolumeDisplayNode,
        volumes.vtkMRMLLabelMapVolumeDisplayNode,
        views.vtkMRMLSliceCompositeNode,
        views.vtkMRMLSliceLogic,
        views.vtkMRMLInteractionNode,
        *markups.EXTRA_CLASSES,
        hierarchy.vtkMRMLSubjectHierarchyConstants,
        models.vtkMRMLModelDisplayNode,
        cameras.vtkMRMLCameraNode,
        volumerendering.vtkMRMLGPURayCastVolumeRenderingDisplayNode,
        volumerendering.vtkMRMLVolumePropertyNode,
    ):
        setattr(module, cls.__name__, cls)
    for cls in (
        segmentations.vtkMRMLSegmentationDisplayNode,
        segmentations.vtkMRMLSegmentationStorageNode,
        segmentation_core.vtkOrientedImageData,
        segmentation_core.vtkSegmentation,
        segmentation_core.vtkSegment,
        segmentation_core.vtkSegmentationConverter,
    ):
        setattr(module, cls.__name__, cls)
    module.vtkSlicerSegmentationsModuleLogic = segmentation_logic.vtkSlicerSegmentationsModuleLogic
    return module
