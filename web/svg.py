"""Server-rendered SVG picture of a report (pure): the outlet × outlet agreement heat-map. Every
text from a feed is XML-escaped; the SVG has no scripts, links or external references, so it is
safe inline in a page and in the self-contained export. Colours are colour-blind safe: a diverging
Okabe–Ito vermilion (no agreement) → light grey → blue (full agreement), never red against green;
each cell also carries its number."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

VERMILION, MIDDLE, BLUE = (213, 94, 0), (236, 236, 236), (0, 114, 178)  # Okabe–Ito vermilion and blue
NOTHING_SHARED = "#ffffff"
CHAR_WIDTH = 6.4  # average width of an 11 px sans-serif character, for the label column


def agreement_colour(value: float | None) -> str:
    """Vermilion (0: no shared claim told alike) → light grey (0.5) → blue (1: all told alike)."""
    if value is None:
        return NOTHING_SHARED
    low, high, t = (VERMILION, MIDDLE, value * 2) if value < 0.5 else (MIDDLE, BLUE, value * 2 - 1)
    r, g, b = (round(a + (z - a) * t) for a, z in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _text_colour(fill: str) -> str:
    """Black or white, whichever contrasts more with the fill (WCAG relative luminance)."""
    channels = [int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lum = sum(
        w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
        for w, c in zip((0.2126, 0.7152, 0.0722), channels, strict=True)
    )
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def heatmap(report: dict[str, Any], cell: int = 34) -> str:
    """Rows are labelled "n · outlet" in full, columns by the same numbers: no label is rotated,
    cut or clipped; the picture scales down to the width it is given (viewBox)."""
    names = report["agreement"]["outlets"]
    matrix = report["agreement"]["matrix"]
    label = round(max((len(f"{i + 1} · {n}") for i, n in enumerate(names)), default=4) * CHAR_WIDTH) + 12
    top = 22
    width, height = label + cell * len(names) + 2, top + cell * len(names) + 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Agreement between outlets, one row and one '
        f'column per outlet">'
    ]
    for i, name in enumerate(names):
        y = top + i * cell + cell * 0.62
        parts.append(
            f'<text x="{label - 8}" y="{y:.1f}" text-anchor="end" font-size="11" fill="#1d1d1f">'
            f"{i + 1} · {escape(name)}</text>"
        )
        x = label + i * cell + cell * 0.5 - 1
        parts.append(
            f'<text x="{x:.1f}" y="{top - 7}" text-anchor="middle" font-size="11" fill="#1d1d1f">{i + 1}</text>'
        )
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            x, y = label + j * cell, top + i * cell
            title = f"{names[i]} vs {names[j]}: " + ("nothing shared" if value is None else f"{value:.0%} agree")
            fill = agreement_colour(value)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}" stroke="#c8c8c8">'
                f"<title>{escape(title)}</title></rect>"
            )
            text = "—" if value is None else "" if i == j else str(round(value * 100))
            if text:
                parts.append(
                    f'<text x="{x + cell / 2 - 1:.1f}" y="{y + cell * 0.6:.1f}" text-anchor="middle" font-size="11" '
                    f'fill="{_text_colour(fill)}">{text}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)
