"""Slicer's scripting vocabulary for ``/slicer/exec``, as views onto voxweb's scene.

Snippets written for Slicer (``slicer.util``, ``slicer.mrmlScene``, ``vtkMRML...Node``
classes, display nodes, module logics) run here unchanged as far as they make sense without a
GUI. Every MRML object is a *view*: it holds a reference to a ``voxweb.scene`` node and reads
and writes that node, so there is one source of truth and whatever a script changes shows in
``/slicer/mrml``, the rendered views and the viewer. Real VTK objects (``vtkImageData``,
``vtkMatrix4x4``, ``vtkPolyData``) are handed out where Slicer hands them out.

This package may import ``scene``, ``io``, ``services`` and ``render``; nothing below it
imports this package.
"""
