"""Server-rendered SVG pictures of a report (pure): the outlet × outlet agreement heat-map and
the coverage timeline. Every text from a feed is XML-escaped; the SVG has no scripts, links or
external references, so it is safe inline in a page and in the self-contained export."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

KIND_COLOURS = {
    "wire": "#1f77b4",
    "broadcaster": "#9467bd",
    "newspaper": "#2ca02c",
    "state_media": "#d62728",
    "government": "#ff7f0e",
    "aggregator": "#7f7f7f",
}


def _short(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _agreement_colour(value: float | None) -> str:
    if value is None:
        return "#eeeeee"
    red, green = int(215 - 170 * value), int(48 + 150 * value)  # red (disagree) → green (agree)
    return f"rgb({red},{green},{int(60 + 40 * value)})"


def heatmap(report: dict[str, Any], cell: int = 34) -> str:
    names = report["agreement"]["outlets"]
    matrix = report["agreement"]["matrix"]
    label = 170
    size = label + cell * len(names)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="{size}" height="{size + 10}" '
        f'viewBox="0 0 {size} {size + 10}" role="img" aria-label="Agreement between outlets">'
    ]
    for i, name in enumerate(names):
        y = label + i * cell + cell * 0.62
        parts.append(
            f'<text x="{label - 6}" y="{y:.1f}" text-anchor="end" font-size="11">{escape(_short(name))}</text>'
        )
        x = label + i * cell + cell * 0.5
        parts.append(
            f'<text transform="translate({x:.1f},{label - 6}) rotate(-55)" font-size="11">{escape(_short(name))}</text>'
        )
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            x, y = label + j * cell, label + i * cell
            title = f"{names[i]} vs {names[j]}: " + ("nothing shared" if value is None else f"{value:.0%} agree")
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{_agreement_colour(value)}">'
                f"<title>{escape(title)}</title></rect>"
            )
            if value is not None and i != j:
                parts.append(
                    f'<text x="{x + cell / 2 - 1:.1f}" y="{y + cell * 0.6:.1f}" text-anchor="middle" font-size="10" '
                    f'fill="#fff">{round(value * 100)}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def timeline(report: dict[str, Any], width: int = 760, row: int = 26) -> str:
    """One row per outlet, a dot per article at its publish time, coloured by outlet kind."""
    outlets = report["outlets"]
    times = [t for o in outlets for a in o["articles"] if (t := _when(a["published"]))]
    label, pad = 190, 14
    height = pad * 2 + row * len(outlets) + 18
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="When each outlet published">'
    ]
    if not times:
        parts.append('<text x="10" y="20" font-size="12">No publish times known.</text></svg>')
        return "".join(parts)
    start, end = min(times), max(times)
    span = max((end - start).total_seconds(), 1.0)

    def x_of(t: datetime) -> float:
        return label + (width - label - pad) * (t - start).total_seconds() / span

    for i, outlet in enumerate(outlets):
        y = pad + i * row + row / 2
        parts.append(f'<line x1="{label}" y1="{y}" x2="{width - pad}" y2="{y}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{label - 8}" y="{y + 4}" text-anchor="end" font-size="11">{escape(_short(outlet["name"], 26))}</text>'
        )
        colour = KIND_COLOURS.get(outlet["kind"] or "", "#555")
        for article in outlet["articles"]:
            when = _when(article["published"])
            if when is None:
                continue
            title = f"{outlet['name']} · {when:%d %b %H:%M} UTC · {article['title']}"
            parts.append(
                f'<circle cx="{x_of(when):.1f}" cy="{y}" r="6" fill="{colour}"><title>{escape(title)}</title></circle>'
            )
    axis_y = pad + row * len(outlets) + 12
    for t, anchor in ((start, "start"), (end, "end")):
        parts.append(
            f'<text x="{x_of(t):.1f}" y="{axis_y}" text-anchor="{anchor}" font-size="10" fill="#555">'
            f"{t:%d %b %H:%M} UTC</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
