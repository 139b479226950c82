"""``SampleData``: Slicer's sample-data module over voxweb's sample registry."""

from __future__ import annotations

import types
from typing import Any

from voxweb.scripting.registry import wrap
from voxweb.services.workspace import Workspace


def sampledata_module(workspace: Workspace) -> types.ModuleType:
    module = types.ModuleType("SampleData", "Slicer's SampleData over voxweb's sample registry")

    class SampleDataLogic:
        def downloadSample(self, name: str) -> Any:  # noqa: N802
            return wrap(workspace.load_sample(name)[0])

        def downloadSamples(self, name: str) -> list[Any]:  # noqa: N802
            return [wrap(n) for n in workspace.load_sample(name)]

        def __getattr__(self, attribute: str) -> Any:
            # downloadMRHead(), downloadCTChest()... as in Slicer.
            if attribute.startswith("download") and len(attribute) > len("download"):
                name = attribute[len("download") :]
                return lambda: self.downloadSample(name)
            raise AttributeError(attribute)

    module.SampleDataLogic = SampleDataLogic
    module.downloadSample = lambda name: SampleDataLogic().downloadSample(name)
    module.downloadSamples = lambda name: SampleDataLogic().downloadSamples(name)
    return module
