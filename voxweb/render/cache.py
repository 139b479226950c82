"""A bounded cache of encoded images keyed by everything that decides their pixels.

Keys are built by the caller from scene state (node IDs, modification stamps, display
numbers, view geometry) and request parameters; the ETag is a digest of the key, so an
identical request gets the same ETag and reuses the bytes. Thread-safe; no scene access here.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rendered:
    """Encoded bytes with their media type and ETag (quoted, ready for the header)."""

    body: bytes
    media_type: str
    etag: str
    headers: tuple[tuple[str, str], ...] = ()


def etag_of(key: object) -> str:
    """A strong ETag: the first 24 hex digits of SHA-1 over the key's canonical repr."""
    return '"' + hashlib.sha1(_canonical(key).encode()).hexdigest()[:24] + '"'


def _canonical(value: object) -> str:
    if isinstance(value, np.ndarray):
        return "a" + repr(np.round(value.astype(float), 9).tolist())
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(_canonical(v) for v in value) + ")"
    if isinstance(value, float):
        return repr(round(value, 9))
    return repr(value)


class RenderCache:
    """LRU of :class:`Rendered` by ETag, bounded by total bytes."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Rendered] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, etag: str) -> Rendered | None:
        with self._lock:
            item = self._items.get(etag)
            if item is not None:
                self._items.move_to_end(etag)
                self.hits += 1
            else:
                self.misses += 1
            return item

    def put(self, item: Rendered) -> None:
        if len(item.body) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(item.etag, None)
            if old is not None:
                self._size -= len(old.body)
            self._items[item.etag] = item
            self._size += len(item.body)
            while self._size > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped.body)

    def get_or_render(self, key: object, render: Callable[[str], Rendered]) -> Rendered:
        etag = etag_of(key)
        found = self.get(etag)
        if found is not None:
            return found
        item = render(etag)
        self.put(item)
        return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0
