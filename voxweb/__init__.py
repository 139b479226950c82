"""voxweb: a headless medical-imaging application server.

It answers 3D Slicer WebServer clients (``/slicer``), DICOMweb clients (``/dicom``) and
browsers (the docroot). ``voxweb.Server(settings)`` runs one, in a script or from the CLI.
"""

__version__ = "0.1.0"

from voxweb.config import Settings  # noqa: E402
from voxweb.server import Server  # noqa: E402

__all__ = ["Server", "Settings", "__version__"]
