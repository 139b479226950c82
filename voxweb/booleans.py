"""Yes/no words, read the same way everywhere: settings, query flags, Slicer node properties."""

from __future__ import annotations

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def parse_bool(text: str) -> bool:
    """A setting's value: a yes or no word (any case), else ``ValueError``."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected one of {', '.join(sorted(TRUE_WORDS | FALSE_WORDS - {''}))}")


def is_yes(text: str | None) -> bool:
    """A query flag that is off unless a yes word is given (``?report=1``)."""
    return text is not None and text.strip().lower() in TRUE_WORDS


def is_not_no(text: str | None) -> bool:
    """Qt's reading of a string as a bool: on unless it is a no word (``"false"``, ``"0"``, ``""``)."""
    return text is not None and text.strip().lower() not in FALSE_WORDS
