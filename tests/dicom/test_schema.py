"""The index schema's revisions: created at head, old databases recognised, unknown ones refused."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.dicom.helpers import make_instance
from voxweb.dicom import DicomDatabase, schema
from voxweb.dicom.dburl import normalize_url
from voxweb.dicom.errors import IndexSchemaError
from voxweb.dicom.index import Index, metadata


def _url(tmp_path, index_url) -> str:
    return index_url or str(tmp_path / "data" / "dicom" / "index.sqlite")


def _sql(url: str, *statements: str) -> None:
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def _version(url: str) -> list[str]:
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        found = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    engine.dispose()
    return found


def test_head_is_the_scripts_head():
    assert schema.script_head() == schema.HEAD
    assert schema.known_revisions()[0] == schema.INITIAL
    assert schema.known_revisions()[-1] == schema.HEAD


def test_a_new_database_is_made_at_head_with_the_model_of_index_py(tmp_path, new_index_url, engine):
    db = DicomDatabase(tmp_path / "data", index_url=new_index_url())
    try:
        assert _version(db.index.url) == [schema.HEAD]
        insp = inspect(db.index.engine)
        assert set(insp.get_table_names()) == {*schema.TABLES, "alembic_version"}
        for table in metadata.sorted_tables:
            columns = {c["name"]: c for c in insp.get_columns(table.name)}
            assert set(columns) == set(table.c.keys()), table.name
            for col in table.c:
                assert columns[col.name]["nullable"] == col.nullable, (table.name, col.name)
            indexes = {ix["name"]: ix["column_names"] for ix in insp.get_indexes(table.name)}
            for ix in table.indexes:
                assert indexes.get(ix.name) == [c.name for c in ix.columns], ix.name
            uniques = [
                tuple(u["column_names"]) for u in insp.get_unique_constraints(table.name)
            ] + [tuple(ix["column_names"]) for ix in insp.get_indexes(table.name) if ix["unique"]]
            for col in table.c:
                if col.unique:
                    assert (col.name,) in uniques, (table.name, col.name)
        if engine == "postgresql":
            with db.index.engine.connect() as conn:
                collations = dict(
                    conn.execute(
                        text(
                            "SELECT table_name || '.' || column_name, collation_name "
                            "FROM information_schema.columns WHERE table_schema = current_schema() "
                            "AND data_type = 'character varying' AND table_name <> 'alembic_version'"
                        )
                    ).all()
                )
                sizes = conn.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns WHERE "
                        "table_name = 'instances' AND column_name IN ('file_size', 'created')"
                    )
                ).scalars()
                assert set(sizes) == {"bigint"}
            assert collations and set(collations.values()) == {"C"}, collations
    finally:
        db.close()


def _legacy_sqlite(path) -> None:
    """A database as voxweb made it before revisions: create_all, one row, an index missing."""
    path.parent.mkdir(parents=True)
    engine = create_engine(normalize_url(str(path)))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO patients (patient_id, patient_name, patient_name_ci, "
                "patient_birth_date, patient_sex, num_studies) VALUES ('OLD', '', '', '', '', 0)"
            )
        )
        conn.execute(text("DROP INDEX ix_studies_order"))  # an even older build had none
    engine.dispose()


def test_a_database_from_before_revisions_is_stamped_on_sqlite(tmp_path):
    path = tmp_path / "data" / "dicom" / "index.sqlite"
    _legacy_sqlite(path)
    db = DicomDatabase(tmp_path / "data", fsync=False)
    try:
        assert _version(str(path)) == [schema.HEAD]
        assert db.index.counts()["patients"] == 1  # kept, not recreated
        names = {ix["name"] for ix in inspect(db.index.engine).get_indexes("studies")}
        assert "ix_studies_order" in names
        res = db.ingest_bytes(make_instance(PatientID="NEW"))
        assert res.status == "stored"
    finally:
        db.close()


def test_a_database_from_before_revisions_needs_db_upgrade_on_postgresql(postgres_cluster):
    url = postgres_cluster.create_database()
    engine = create_engine(normalize_url(url))
    metadata.create_all(engine)
    engine.dispose()
    with pytest.raises(IndexSchemaError, match="voxweb db upgrade") as err:
        Index(url)
    assert "0001 (made before schema revisions)" in str(err.value)
    index = Index(url, prepare=False)
    try:
        before, after = schema.upgrade(index.engine, index.write)
    finally:
        index.close()
    assert (before.state, after.state, after.current) == ("legacy", "current", schema.HEAD)
    Index(url).close()


def test_an_older_revision_is_upgraded_on_sqlite_and_refused_on_postgresql(
    tmp_path, index_url, engine
):
    url = _url(tmp_path, index_url)
    Index(url).close()
    _sql(url, f"UPDATE alembic_version SET version_num = '{schema.INITIAL}'")
    if engine == "sqlite":
        Index(url).close()
        assert _version(url) == [schema.HEAD]
        return
    with pytest.raises(IndexSchemaError) as err:
        Index(url)
    message = str(err.value)
    assert f"revision {schema.INITIAL}" in message and "voxweb db upgrade" in message


def test_an_unknown_revision_is_refused(tmp_path, index_url):
    url = _url(tmp_path, index_url)
    Index(url).close()
    _sql(url, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(IndexSchemaError, match="revision 9999, which this voxweb does not know"):
        DicomDatabase(tmp_path / "data", index_url=index_url)
    with pytest.raises(IndexSchemaError, match="does not know"):  # nor does the upgrade touch it
        index = Index(url, prepare=False)
        try:
            schema.upgrade(index.engine, index.write)
        finally:
            index.close()
    assert _version(url) == ["9999"]


def test_a_database_of_something_else_is_refused(tmp_path, new_index_url):
    index_url = new_index_url()
    url = _url(tmp_path, index_url)
    if index_url is None:
        (tmp_path / "data" / "dicom").mkdir(parents=True)
    _sql(url, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(IndexSchemaError, match=r"not a voxweb DICOM index \(invoices\)"):
        Index(url)


def test_processes_opening_a_new_database_at_once_make_it_once(tmp_path, new_index_url):
    index_url = new_index_url()
    url = _url(tmp_path, index_url)
    if index_url is None:
        (tmp_path / "data" / "dicom").mkdir(parents=True)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        try:
            start.wait()
            Index(url).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert _version(url) == [schema.HEAD]


def _voxweb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voxweb", *args], capture_output=True, text=True, timeout=120
    )


def test_db_version_and_upgrade_commands(tmp_path, new_index_url):
    index_url = new_index_url()
    where = ["--database-url", index_url] if index_url else ["--data-dir", str(tmp_path / "d")]
    url = index_url or str(tmp_path / "d" / "dicom" / "index.sqlite")
    empty = _voxweb("db", "version", *where)
    assert empty.returncode == 1 and "current: - (empty)" in empty.stdout, empty
    assert f"head: {schema.HEAD}" in empty.stdout
    made = _voxweb("db", "upgrade", *where)
    assert made.returncode == 0, made.stderr
    assert f"upgraded from empty to revision {schema.HEAD}" in made.stdout
    again = _voxweb("db", *where, "upgrade")  # the options before the sub-command work too
    assert again.returncode == 0 and "already at revision" in again.stdout
    _sql(url, f"UPDATE alembic_version SET version_num = '{schema.INITIAL}'")
    up = _voxweb("db", "upgrade", *where)
    assert up.returncode == 0 and f"from {schema.INITIAL} to revision {schema.HEAD}" in up.stdout
    ok = _voxweb("db", "version", *where)
    assert ok.returncode == 0 and f"current: {schema.HEAD} (current)" in ok.stdout

    _sql(url, "UPDATE alembic_version SET version_num = '9999'")
    for args in (("db", "upgrade"), ("dicom", "check")):
        refused = _voxweb(*args, *where)
        assert refused.returncode == 1, refused
        assert "revision 9999, which this voxweb does not know" in refused.stderr
        assert "Traceback" not in refused.stderr
    served = _voxweb("serve", "--data-dir", str(tmp_path / "d"), "--port", "0", *where)
    assert served.returncode == 2 and "does not know" in served.stderr, served


def test_the_password_stays_out_of_messages():
    done = _voxweb("db", "version", "--database-url", "postgresql://u:s3cretpw@127.0.0.1:1/x")
    assert done.returncode == 1 and "cannot use the DICOM index" in done.stderr
    assert "postgresql://u:***@127.0.0.1:1/x" in done.stderr
    assert "s3cretpw" not in done.stderr + done.stdout
