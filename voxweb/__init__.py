"""voxweb: a headless medical-imaging application server.

It answers 3D Slicer WebServer clients (``/slicer``), DICOMweb clients (``/dicom``) and
browsers (the docroot). ``voxweb.Server(settings)`` runs one, in a script or from the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Server", "Settings", "__version__"]

if TYPE_CHECKING:
    from voxweb.config import Settings
    from voxweb.server import Server


def __getattr__(name: str) -> Any:
    # imported on first use: a worker process that only needs voxweb.dicom then starts in
    # a fraction of the time and memory the whole server takes
    if name == "Server":
        from voxweb.server import Server

        return Server
    if name == "Settings":
        from voxweb.config import Settings

        return Settings
    raise AttributeError(f"module 'voxweb' has no attribute {name!r}")
