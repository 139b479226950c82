"""Shared fixtures: a real voxweb server process per test (or per module when cheap)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

from tests.support.server import VoxwebProcess

# CI replays the same examples every run (a red main must mean a change broke something);
# local runs explore new ones.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture
def voxweb(tmp_path):
    """Start ``voxweb serve`` with given extra args: ``server = voxweb("--enable-exec")``."""
    started: list[VoxwebProcess] = []

    def start(
        *args: str, env: dict[str, str] | None = None, port: int | None = 0, **kwargs
    ) -> VoxwebProcess:
        data_dir = tmp_path / f"data{len(started)}"
        proc = VoxwebProcess(data_dir, list(args), env=env, port=port)
        started.append(proc)
        return proc.start(**kwargs)

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One default server for a module of read-only tests."""
    with VoxwebProcess(tmp_path_factory.mktemp("shared"), []) as proc:
        yield proc
