"""``NodeCollection``: what Slicer's ``GetNodes*`` return (a vtkCollection that is also a list)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class NodeCollection(list):
    """What Slicer's GetNodes* return: a vtkCollection that also iterates like a list."""

    _cursor = 0

    def GetNumberOfItems(self) -> int:  # noqa: N802
        return len(self)

    def GetItemAsObject(self, index: int) -> Any:  # noqa: N802
        index = int(index)
        return self[index] if 0 <= index < len(self) else None

    def InitTraversal(self) -> None:  # noqa: N802
        self._cursor = 0

    def GetNextItemAsObject(self) -> Any:  # noqa: N802
        if self._cursor >= len(self):
            return None
        self._cursor += 1
        return self[self._cursor - 1]

    def IsItemPresent(self, item: Any) -> int:  # noqa: N802
        return self.index(item) + 1 if item in self else 0

    def __iter__(self) -> Iterator[Any]:
        return super().__iter__()
