"""Keeping secrets out of log lines.

A client may send its token in forms voxweb does not accept (``access_token=``, ``Token=``,
``tok%65n=``, or inside another parameter's value such as ``url=slicer://...?access_token=``);
the request is refused, but its target is still logged. ``redact_target`` hides the value of
every token-like query parameter, whatever its spelling, and ``Redactor`` hides anything equal
to a live secret wherever it appears in a line. Knows nothing about HTTP frameworks.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, unquote, unquote_plus

MASK = "***"

# Parameter names that carry credentials, matched on the decoded, lower-cased name.
_SECRET_NAME = re.compile(r"token|secret|passw|api[-_]?key|auth|session|signature|sig$|^key$")
# key=value pairs inside a decoded value (a URL passed as a parameter).
_NESTED_PAIR = re.compile(
    r"(?i)([\w.-]*(?:token|secret|passw|api[-_]?key|auth|session|signature)[\w.-]*=)([^&#\s]+)"
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(unquote_plus(name).strip().lower()))


def redact_query(query: str) -> str:
    """The query string with every token-like value replaced by ``***``; the rest as sent."""
    pairs = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        if eq and is_secret_name(name):
            value = MASK
        elif eq and _NESTED_PAIR.search(unquote_plus(value)):
            value = quote(_NESTED_PAIR.sub(lambda m: m.group(1) + MASK, unquote_plus(value)))
        pairs.append(name + eq + value)
    return "&".join(pairs)


def redact_target(path: str, query: str) -> str:
    """A request target fit for a log line."""
    return path + ("?" + redact_query(query) if query else "")


class Redactor:
    """Replaces live secrets (and their percent-encoded forms) in text with ``***``."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if not secret:
            return
        with self._lock:
            forms = {secret, quote(secret, safe=""), quote(secret)}
            self._secrets = tuple(sorted(set(self._secrets) | forms, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        secrets = self._secrets
        if not secrets:
            return text
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if "%" in text:
            # tok%65n-style spellings: compare with the line decoded once.
            decoded = unquote(text)
            if decoded != text and any(s in decoded for s in secrets):
                for secret in secrets:
                    decoded = decoded.replace(secret, MASK)
                return decoded
        return text
