"""``voxweb dicomweb``: the DICOMweb service alone, stateless, one of many behind a balancer.

The same ``Server`` as ``voxweb serve`` (port binding, TLS, timeouts, token file, logs), with
a context holding only the DICOM database (``ServerContext.for_dicom_service``) and an app
with only the DICOM area plus ``/healthz`` (``http.app.build_dicom_app``): no scene, no
``/slicer``, no exec, no ``/api``, no static pages. Every request is answered from the index
(``database_url``: PostgreSQL for several hosts) and the storage root (``storage``: a folder
all hosts mount), so any process can take any request and processes can come and go.
"""

from __future__ import annotations

from typing import Any

from voxweb.config import Settings
from voxweb.context import ServerContext
from voxweb.http.app import build_dicom_app
from voxweb.server import Server
from voxweb.tokenfile import token_path


class DicomWebServer(Server):
    """A ``Server`` that serves ``/dicom`` (and ``/dicom-web``) and ``/healthz`` only."""

    def _make_context(self, settings: Settings) -> ServerContext:
        return ServerContext.for_dicom_service(settings)

    def _build_app(self) -> Any:
        return build_dicom_app(self.ctx)

    def _announcement(self) -> str:
        if self.token is None:
            auth = "no token"
        elif self.settings.token is not None:
            auth = "token as given"
        else:
            auth = f"token in {token_path(self.settings.resolved_data_dir())}"
        return (
            f"voxweb {self.ctx.version} serving at {self.url}/ (DICOMweb only, at /dicom; {auth})"
        )
