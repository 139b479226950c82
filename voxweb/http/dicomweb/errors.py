"""``HttpError``: an answer other than 200, raised anywhere in a DICOMweb handler."""

from __future__ import annotations


class HttpError(Exception):
    """An answer other than 200, raised anywhere in a handler."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
