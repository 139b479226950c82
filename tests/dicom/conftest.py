"""Fixtures for the DICOM database tests: a fresh database on each index engine.

Every test that uses an index runs twice: on SQLite (a file in ``tmp_path``, the default) and
on PostgreSQL (a fresh database in a cluster started once per session from the installed
server binaries). Without those binaries the PostgreSQL runs are skipped, except in CI
(``CI`` set), where that is a failure: CI installs the ``postgresql`` package.
"""

from __future__ import annotations

import pytest

from voxweb.dicom import DicomDatabase

ENGINES = ["sqlite", "postgresql"]


def _url_factory(engine: str, request: pytest.FixtureRequest, template: str = "template0"):
    """``(make, cleanup)``: ``make()`` gives a new database's URL (None: SQLite), empty or a
    copy of ``template`` (``voxweb_head``: an index at the head revision)."""
    if engine == "sqlite":
        return (lambda: None), (lambda: None)
    cluster = request.getfixturevalue("postgres_cluster")
    made: list[str] = []

    def make() -> str:
        made.append(cluster.create_database(template))
        return made[-1]

    def cleanup() -> None:
        for url in made:
            cluster.drop_database(url)

    return make, cleanup


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    """The index engine of this run of the test: ``sqlite`` or ``postgresql``."""
    return request.param


@pytest.fixture
def new_index_url(engine, request):
    """``new_index_url()``: the URL of another empty index database (None on SQLite: each
    ``DicomDatabase`` keeps its index in its data dir)."""
    make, cleanup = _url_factory(engine, request)
    yield make
    cleanup()


@pytest.fixture
def index_url(engine, request):
    """The index database of this test, made at the head revision (None on SQLite: the data
    dir's file, made by the test's first ``DicomDatabase``)."""
    make, cleanup = _url_factory(engine, request, "voxweb_head")
    yield make()
    cleanup()


@pytest.fixture
def db(tmp_path, index_url):
    database = DicomDatabase(tmp_path / "data", index_url=index_url, fsync=False)
    yield database
    database.close()


@pytest.fixture(scope="module", params=ENGINES)
def module_index_url(request):
    """An index database shared by the tests of one module (read-only fixtures)."""
    make, cleanup = _url_factory(request.param, request, "voxweb_head")
    yield make()
    cleanup()
