"""The stored report's schema version and what a story page shows first, in a module of its own:
the stale-report query and the pages need them without importing the comparison stack
(``compare/report.py`` re-exports them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SCHEMA_VERSION = 1  # bump it on any incompatible change of the report (compare/report.py's docstring)

# a story page lists this many divergences before "more"; low omissions and exclusives are folded
# per outlet below the list (what a reader sees first: the eval measures its precision)
SHOWN_FIRST = 12
# the text report (`storydiff compare`, `storydiff report`) lists this many of each outlet's fold,
# then "+N more" (--all lists every one); the eval measures their precision (``fold_first``)
FOLD_SHOWN = 3


def folded(divergence: dict[str, Any]) -> bool:
    """A low-severity omission or exclusive: folded per outlet below the list, not in it."""
    return divergence["severity"] == "low" and divergence["type"] in ("omission", "exclusive")


def fold_label(divergence: dict[str, Any]) -> str:
    """Where a low omission or exclusive is folded on the page: per outlet ("Only X reports",
    "Y omits"); the carriers come first in an omission's outlets, the omitting outlet last."""
    d = divergence
    carriers = {c["outlet"] for c in d["claims"]}
    if d["type"] == "exclusive":
        return "Only " + ", ".join(d["outlets"]) + " reports"
    if d["type"] == "omission":
        return ", ".join(o for o in d["outlets"] if o not in carriers) + " omits"
    return d["type"]


def folds(divergences: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The folded divergences per fold (``fold_label``), each fold in the report's order: the
    names and numbers the other side never mentions first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for d in divergences:
        if folded(d):
            out.setdefault(fold_label(d), []).append(d)
    return out


def shown_first(divergences: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The divergences a story page shows before "more" (the report's order: most severe first)."""
    return [d for d in divergences if not folded(d)][:SHOWN_FIRST]
