"""A change stamp of the index: equal stamps mean nothing was committed in between.

The QIDO cache (``DicomDatabase.search_json``) keeps an answer while the stamp is unchanged.
Several processes and hosts write one index, so a cache that forgets only on its own writes
would hide the others' instances; the stamp sees every writer:

* SQLite: ``PRAGMA data_version`` on a dedicated connection (``HotReads.data_version``),
  which changes when any connection of any process commits.
* PostgreSQL: ``pg_current_snapshot()`` on a dedicated autocommit connection. Two equal
  snapshots (xmin, xmax, in-progress list) mean no transaction finished and none started
  writing between them, so every read sees the same data. Any write in the cluster changes
  it (a cache miss, never a stale answer); it costs one round trip and writes nothing, so
  writers on many hosts do not queue on a counter row.
* Other engines: None (no caching).

No HTTP here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Hashable
from typing import Any

from voxweb.dicom.index import HotReads, Index

log = logging.getLogger(__name__)


class ChangeStamp:
    """``current()``: the index's change stamp, or None when it cannot be known."""

    def __init__(self, index: Index, hot: HotReads) -> None:
        self.index = index
        self.hot = hot
        self.engine = index.engine.dialect.name
        self._lock = threading.Lock()
        self._pg: Any = None  # a DBAPI connection (autocommit) kept for the stamps

    def current(self) -> Hashable | None:
        if self.engine == "sqlite":
            return self.hot.data_version()
        if self.engine == "postgresql":
            return self._pg_snapshot()
        return None

    def _pg_snapshot(self) -> str | None:
        with self._lock:
            for _attempt in range(2):  # once more on a fresh connection (server restarted)
                try:
                    if self._pg is None:
                        self._pg = self.index.engine.raw_connection()
                        self._pg.driver_connection.autocommit = True
                    cur = self._pg.cursor()
                    try:
                        cur.execute("SELECT pg_current_snapshot()::text")
                        return str(cur.fetchone()[0])
                    finally:
                        cur.close()
                except Exception as exc:
                    log.info("no change stamp from PostgreSQL (%s); not caching", exc)
                    self._drop()
            return None

    def _drop(self) -> None:
        if self._pg is not None:
            with contextlib.suppress(Exception):  # already gone
                self._pg.invalidate()
            self._pg = None

    def close(self) -> None:
        with self._lock:
            self._drop()  # discarded, not pooled: it is in autocommit mode
