"""Index database URLs: which engine a URL names, its driver, and a form fit for logs.

``postgresql://`` and ``postgres://`` mean psycopg 3 (``postgresql+psycopg://``, the driver
voxweb depends on); a plain path means an SQLite file. ``display_url`` hides the password:
messages and log lines only ever show that form. No connections are made here.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from voxweb.dicom.errors import DicomError

_PG_ALIASES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg3")


class DatabaseUrlError(DicomError, ValueError):
    """A database URL voxweb cannot use (the message shows it without its password)."""


def normalize_url(url_or_path: str | os.PathLike[str]) -> str:
    """An SQLAlchemy URL for an index: SQLite for a path, psycopg 3 for PostgreSQL."""
    text = str(url_or_path)
    if "://" not in text:
        return "sqlite:///" + str(Path(text))
    try:
        url = make_url(text)
    except ArgumentError:
        raise DatabaseUrlError(f"not a database URL: {display_url(text)!r}") from None
    if url.drivername in _PG_ALIASES:
        url = url.set(drivername="postgresql+psycopg")
    elif not url.drivername.startswith("sqlite"):
        raise DatabaseUrlError(
            f"the DICOM index runs on SQLite or PostgreSQL, not {url.drivername!r} "
            f"({display_url(text)}); use postgresql://user@host:port/database"
        )
    return url.render_as_string(hide_password=False)


def is_sqlite_url(url: str) -> bool:
    return url.startswith("sqlite")


def url_password(url: str | None) -> str | None:
    """The password in ``url`` (to register with a log redactor), or None."""
    if not url or "://" not in url:
        return None
    try:
        return make_url(url).password  # type: ignore[return-value]
    except ArgumentError:
        return None


def display_url(url: str | os.PathLike[str] | URL) -> str:
    """``url`` with its password replaced by ``***`` (paths and SQLite URLs unchanged)."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    text = str(url)
    if "://" not in text:
        return text
    try:
        return make_url(text).render_as_string(hide_password=True)
    except ArgumentError:
        # unparsable: hide everything between the scheme and the host
        scheme, _, rest = text.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}" if "@" in rest else text
