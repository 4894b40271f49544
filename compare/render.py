"""Story reports as Markdown (pure): for `storydiff compare --format markdown`, `storydiff
report --format markdown` and the web export. Text from feeds is escaped so that it cannot
inject Markdown links, images or HTML into the rendered page."""

from __future__ import annotations

import re
from typing import Any

from storydiff.compare.evidence import needs_quotes

SEVERITY_LABEL = {"high": "HIGH", "medium": "MEDIUM", "low": "low"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


def md(text: Any) -> str:
    """Escape Markdown and HTML metacharacters in untrusted text."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def highlight(claim: dict[str, Any]) -> list[tuple[str, bool]]:
    """The claim text cut into (segment, marked) pieces; marks are article offsets (overlapping
    ones, or a space apart, are one piece)."""
    start, text = claim["span"][0], claim["text"]
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for a, b in sorted(tuple(m) for m in claim.get("marks", [])):
        a, b = max(a - start, cursor), min(b - start, len(text))
        if a >= b or (a == 0 and b == len(text)):
            continue
        if pieces and pieces[-1][1] and (a <= cursor or text[cursor:a].isspace()):
            a = cursor - len(pieces.pop()[0])  # overlapping marks, or a space apart, are one mark
        elif a > cursor:
            pieces.append((text[cursor:a], False))
        pieces.append((text[a:b], True))
        cursor = b
    if cursor < len(text):
        pieces.append((text[cursor:], False))
    return pieces


def marked_claim(claim: dict[str, Any]) -> str:
    """The claim text with its differing words in bold (marks are article offsets)."""
    return "".join(f"**{md(text)}**" if marked else md(text) for text, marked in highlight(claim))


def never_mentioned(divergence: dict[str, Any]) -> tuple[str, list[str]]:
    """An omission's or exclusive's marked names and numbers (the ones the other side never
    mentions), each once, the longest form: (who lacks them, the names)."""
    d = divergence
    marked = dict.fromkeys(p.strip(" ,;:") for c in d["claims"] for p, mark in highlight(c) if mark)
    names = [p for p in marked if p and not any(p != q and p in q for q in marked)]
    carriers = {c["outlet"] for c in d["claims"]}
    return ", ".join(o for o in d["outlets"] if o not in carriers) or "the others", names


def word_diff(diff: list[list[str]]) -> str:
    out = []
    for op, a, b in diff:
        if op == "equal":
            out.append(md(a))
        else:
            if a:
                out.append(f"~~{md(a)}~~")
            if b:
                out.append(f"**{md(b)}**")
    return " ".join(out)


def report_markdown(report: dict[str, Any]) -> str:
    lines = [f"# {md(report['title'])}", ""]
    outlets = report["outlets"]
    lines.append(
        f"{len(outlets)} outlets · divergence score {report['divergence_score']:.2f} · "
        f"first seen {report['first_seen'] or '—'} · last seen {report['last_seen'] or '—'}"
    )
    lines += ["", "## Outlets", "", "| outlet | kind | country | published | note |", "|---|---|---|---|---|"]
    for outlet in outlets:
        article = next((a for a in outlet["articles"] if a["id"] == outlet["account"]), outlet["articles"][-1])
        note = f"copy of {md(outlet['copy_of'])}" if outlet["copy_of"] else ""
        lines.append(
            f"| {md(outlet['name'])} | {md(outlet['kind'] or '')} | {md(outlet['country'] or '')} | "
            f"{article['published'] or '—'} | {note} |"
        )
    lines += ["", f"## Divergences ({len(report['divergences'])})", ""]
    if not report["divergences"]:
        lines.append("The outlets' accounts agree on every claim they share.")
    for d in report["divergences"]:
        line = f"- **{SEVERITY_LABEL[d['severity']]} · {d['type']}** — {md(d['summary'])}"
        if d["type"] in ("omission", "exclusive"):
            lacking, names = never_mentioned(d)
            if names:
                line += f" _(never mentioned by {md(lacking)}: {md('; '.join(names))})_"
        lines.append(line)
        if d["diff"]:
            lines.append(f"  - word diff: {word_diff(d['diff'])}")
        if d["type"] not in ("omission", "exclusive"):
            for claim in d["claims"]:
                shown = marked_claim(claim)
                lines.append(f"  - {md(claim['outlet'])}: " + (f"“{shown}”" if needs_quotes(claim["text"]) else shown))
    names = report["agreement"]["outlets"]
    lines += ["", "## Agreement (share of shared claims told the same way)", ""]
    lines.append("| | " + " | ".join(md(n) for n in names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    for name, row in zip(names, report["agreement"]["matrix"], strict=True):
        cells = ["—" if v is None else f"{v:.2f}" for v in row]
        lines.append(f"| {md(name)} | " + " | ".join(cells) + " |")
    lines += ["", "## Coverage (claim groups carried by two or more outlets)", ""]
    lines.append("| claim | " + " | ".join(md(n) for n in names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    for group in report["claim_groups"]:
        if len(group["claims"]) < 2:
            continue
        carried = set(group["outlets"])
        first = group["claims"][0]["text"]
        text = md(first if len(first) <= 80 else first[:79] + "…")
        lines.append(f"| {text} | " + " | ".join("✓" if n in carried else "–" for n in names) + " |")
    return "\n".join(lines) + "\n"
