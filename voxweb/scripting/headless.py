"""``qt`` and ``ctk`` for a server with no GUI: every name resolves, every GUI call fails fast.

Slicer snippets import ``qt`` freely, often only to build a dialog or a widget the server
cannot show. Any attribute of these stand-ins exists (``qt.QMessageBox.information``,
``ctk.ctkCollapsibleButton``), and calling it raises ``HeadlessError`` naming the call, so a
script stops with a clear message instead of hanging on a window nobody sees. The few
non-GUI helpers scripts use for control flow work: ``qt.QTimer.singleShot(ms, f)`` runs ``f``
at once (there is no event loop to wait for).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any


class HeadlessError(RuntimeError):
    """A GUI call in a server that has no GUI."""


class _Stub:
    """A name in a GUI toolkit: any attribute is another stub; calling it fails clearly."""

    def __init__(self, path: str) -> None:
        self._path = path

    def __getattr__(self, name: str) -> _Stub:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub(f"{self._path}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise HeadlessError(
            f"headless: {self._path}() is not available (voxweb runs without a GUI)"
        )

    def __repr__(self) -> str:
        return f"<headless stand-in for {self._path}>"

    def __mro_entries__(self, bases: tuple) -> tuple:
        # "class MyWidget(qt.QWidget)" defines fine; making one fails on use.
        return (_HeadlessBase,)


class _HeadlessBase:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise HeadlessError(
            f"headless: {type(self).__name__} is a GUI class; voxweb runs without a GUI"
        )


class _Timer(_Stub):
    @staticmethod
    def singleShot(msec: int, callback: Callable[[], Any], *_: Any) -> None:  # noqa: N802
        callback()


def _toolkit(name: str, extras: dict[str, Any]) -> types.ModuleType:
    module = types.ModuleType(name, f"headless stand-in for {name}: GUI calls raise HeadlessError")

    def __getattr__(attribute: str) -> Any:  # noqa: N807 - module-level getattr
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return _Stub(f"{name}.{attribute}")

    module.__getattr__ = __getattr__  # type: ignore[attr-defined]
    for key, value in extras.items():
        setattr(module, key, value)
    return module


def qt_module() -> types.ModuleType:
    return _toolkit("qt", {"QTimer": _Timer("qt.QTimer"), "HeadlessError": HeadlessError})


def ctk_module() -> types.ModuleType:
    return _toolkit("ctk", {"HeadlessError": HeadlessError})


__all__ = ["HeadlessError", "ctk_module", "qt_module"]
