"""Shared fixtures: a real voxweb server process per test (or per module when cheap)."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import settings as hypothesis_settings

from tests.support.postgres import PostgresCluster, find_bindir
from tests.support.server import VoxwebProcess
from voxweb.dicom.index import Index

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


@pytest.fixture(scope="session")
def postgres_cluster():
    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(reason + ": CI must run the PostgreSQL tests")
        pytest.skip(reason)
    cluster = PostgresCluster(PostgresCluster.make_root(), bindir).start()
    # an index at the schema head, copied for each test (tests of empty ones: new_index_url)
    cluster.make_template("voxweb_head", lambda url: Index(url).close())
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.root, ignore_errors=True)
