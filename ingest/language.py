"""The language of an article: the feed's declaration, else identified from its title and lead
(py3langid, its model mapped from the cache folder by ``langmodel``). Kept apart from the HTML
code so a process that only identifies languages (the storing process) never loads lxml."""

from __future__ import annotations

_identifier = None
LANGUAGE_SAMPLE = 240  # title + lead identify the language; more text costs time, not accuracy


def release_language_model() -> None:
    """Drop the loaded language model (~75 MB, mapped from the cache folder when it could be
    written there); the next identification loads it again."""
    global _identifier
    _identifier = None


def detect_language(text: str, declared: str | None = None) -> str | None:
    """ISO 639-1 code: the feed's declared language when present, else identified from the text."""
    if declared:
        code = declared.strip().lower().replace("_", "-").split("-")[0]
        if 2 <= len(code) <= 3 and code.isalpha():
            return code
    if len(text) < 20:
        return None
    global _identifier
    if _identifier is None:
        from storydiff.ingest.langmodel import load_identifier

        _identifier = load_identifier()
    lang, prob = _identifier.classify(text[:LANGUAGE_SAMPLE])
    return str(lang) if prob >= 0.5 else None
