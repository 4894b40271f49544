"""From a stored report to what a story page shows (pure): highlighted evidence, word diffs,
the coverage matrix and the side-by-side columns. Text stays plain text here; the templates
autoescape it, so nothing from a feed ever reaches a page as HTML."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from storydiff.compare.render import highlight
from storydiff.compare.schema import fold_label, folded

PALETTE = 12  # claim groups shared by several outlets get colour classes g0 … g11


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """(op, words) with op in equal/del/ins: a word-level diff for <del>/<ins> rendering (pieces
    are joined with single spaces when shown)."""
    a, b = old.split(), new.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("del", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("ins", " ".join(b[j1:j2])))
    return out


def quote_diff(diff: list[list[str]]) -> list[tuple[str, str]]:
    """The report's quote diff ([op, words a, words b]) as (op, words) pieces."""
    out: list[tuple[str, str]] = []
    for op, a, b in diff:
        if op == "equal":
            out.append(("equal", a))
            continue
        if a:
            out.append(("del", a))
        if b:
            out.append(("ins", b))
    return out


def group_colours(report: dict[str, Any]) -> dict[str, int]:
    """Colour index of each claim group carried by two or more outlets."""
    shared = [g["id"] for g in report["claim_groups"] if len(g["claims"]) > 1]
    return {gid: n % PALETTE for n, gid in enumerate(shared)}


def side_by_side(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One column per outlet: its claims in article order, with the colour of their group."""
    colours = group_colours(report)
    claims: dict[str, list[dict[str, Any]]] = {o["name"]: [] for o in report["outlets"]}
    for group in report["claim_groups"]:
        for claim in group["claims"]:
            claims.setdefault(claim["outlet"], []).append(
                {
                    "text": claim["text"],
                    "index": claim["index"],
                    "group": group["id"],
                    "colour": colours.get(group["id"]),
                }
            )
    columns = []
    for outlet in report["outlets"]:
        article = next((a for a in outlet["articles"] if a["id"] == outlet["account"]), outlet["articles"][-1])
        columns.append(
            {"outlet": outlet, "article": article, "claims": sorted(claims[outlet["name"]], key=lambda c: c["index"])}
        )
    return columns


def coverage(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the coverage matrix: every multi-outlet claim group × outlets, each cell "carried",
    "contradicted" (the outlet tells the opposite: in another sentence, or in this very group
    against the others), "omitted" (reported as an omission in the divergence list) or "absent"
    (not told here, and not called an omission: e.g. written before the fact, or told in other
    words). Derived from the divergence list, so the two never disagree."""
    names = [o["name"] for o in report["outlets"]]
    opposing: dict[tuple[str, int], set[str]] = {}
    omitted: dict[str | None, set[str]] = {}
    for d in report["divergences"]:
        if d["type"] == "omission":
            carriers = {c["outlet"] for c in d["claims"]}
            omitted.setdefault(d.get("group"), set()).update(set(d["outlets"]) - carriers)
        if d["type"] != "contradiction":
            continue
        for claim in d["claims"]:
            others = {c["outlet"] for c in d["claims"] if c["value"] != claim["value"]}
            opposing.setdefault((claim["outlet"], claim["index"]), set()).update(others)
    rows = []
    for group in report["claim_groups"]:
        if len(group["claims"]) < 2:
            continue
        carried = {c["outlet"] for c in group["claims"]}
        against = set().union(*(opposing.get((c["outlet"], c["index"]), set()) for c in group["claims"]))
        # an outlet whose own sentence here is opposed by most of the group's other outlets contradicts it
        dissent = {
            c["outlet"]
            for c in group["claims"]
            if len(opposing.get((c["outlet"], c["index"]), set()) & carried) * 2 > len(carried) - 1
        }
        cells = []
        for n in names:
            if n in dissent or (n not in carried and n in against):
                cells.append("contradicted")
            elif n in carried:
                cells.append("carried")
            else:
                cells.append("omitted" if n in omitted.get(group["id"], set()) else "absent")
        rows.append({"id": group["id"], "text": group["claims"][0]["text"], "cells": cells})
    return rows


def divergences(report: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    """Divergences ranked by severity (as stored), optionally one type, with render-ready evidence."""
    out = []
    for d in report["divergences"]:
        if kind and d["type"] != kind:
            continue
        evidence = [dict(c, pieces=highlight(c)) for c in d["claims"]]
        pieces = quote_diff(d["diff"]) if d["diff"] else []
        out.append(dict(d, evidence=evidence, diff_pieces=pieces, fold=fold_label(d), folded=folded(d)))
    return out


def _type_of(schema: dict[str, Any], spec: dict[str, Any] | bool) -> str:
    """A short type name of an OpenAPI schema: integer, string or null, list of StoryItem, …"""
    if not isinstance(spec, dict):  # JSON Schema's `true`: anything
        return "any"
    if "$ref" in spec:
        return spec["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in spec:
        return " or ".join(_type_of(schema, s) for s in spec["anyOf"])
    if spec.get("type") == "array":
        return "list of " + _type_of(schema, spec.get("items", {}))
    if spec.get("type") == "object" and "additionalProperties" in spec:
        return "object of " + _type_of(schema, spec["additionalProperties"])
    return str(spec.get("type", "any"))


def api_parameter(p: dict[str, Any]) -> dict[str, Any]:
    """A parameter of the OpenAPI document as the docs page shows it: type, default and limits."""
    spec = p.get("schema", {})
    plain = next((s for s in spec.get("anyOf", [spec]) if s.get("type") != "null"), spec)
    limits = []
    for key, word in (("minimum", "≥"), ("maximum", "≤"), ("exclusiveMinimum", ">"), ("exclusiveMaximum", "<")):
        if key in plain:
            limits.append(f"{word} {plain[key]}")
    if "maxLength" in plain:
        limits.append(f"at most {plain['maxLength']} characters")
    return {
        "name": p["name"],
        "in": p.get("in", ""),
        "required": p.get("required", False),
        "description": p.get("description") or spec.get("description") or "",
        "type": _type_of({}, spec),
        "default": spec.get("default"),
        "limits": ", ".join(limits),
    }


def api_responses(schema: dict[str, Any], op: dict[str, Any]) -> list[dict[str, Any]]:
    """The responses of an operation with the fields of their JSON body (one level, refs resolved)."""
    components = schema.get("components", {}).get("schemas", {})
    out = []
    for status, response in op.get("responses", {}).items():
        body = response.get("content", {}).get("application/json", {}).get("schema", {})
        ref = body.get("$ref") or body.get("items", {}).get("$ref")
        fields = []
        if ref:
            name = ref.rsplit("/", 1)[-1]
            for field, spec in components.get(name, {}).get("properties", {}).items():
                fields.append(
                    {"name": field, "type": _type_of(schema, spec), "description": spec.get("description", "")}
                )
        out.append(
            {
                "status": status,
                "description": response.get("description", ""),
                "type": _type_of(schema, body) if body else "",
                "fields": fields,
            }
        )
    return out


def api_models(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every named schema of the OpenAPI document with its fields (for the docs page)."""
    models = []
    for name, spec in sorted(schema.get("components", {}).get("schemas", {}).items()):
        if name in ("HTTPValidationError", "ValidationError"):
            continue  # FastAPI's own; our 422 answers are Error
        required = set(spec.get("required", []))
        fields = [
            {
                "name": field,
                "type": _type_of(schema, f),
                "description": f.get("description", ""),
                "required": field in required,
            }
            for field, f in spec.get("properties", {}).items()
        ]
        models.append({"name": name, "description": spec.get("description", ""), "fields": fields})
    return models


# Okabe–Ito colours (distinct under the common colour blindnesses), one per outlet kind
KIND_COLOURS = {
    "wire": "#0072B2",
    "broadcaster": "#CC79A7",
    "newspaper": "#009E73",
    "state_media": "#D55E00",
    "government": "#E69F00",
    "aggregator": "#56B4E9",
}
OTHER_KIND = "#000000"


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def timeline(report: dict[str, Any]) -> dict[str, Any]:
    """Who published when: one row per outlet (its kind's colour), a dot per article at its place
    between the first and the last publish time (a percentage), each labelled with its time; the
    legend lists the kinds present. Rendered as HTML, so it reflows at any width."""
    times = [t for o in report["outlets"] for a in o["articles"] if (t := _when(a["published"]))]
    start, end = (min(times), max(times)) if times else (None, None)
    span = max((end - start).total_seconds(), 1.0) if start and end else 1.0
    same_day = bool(start and end and start.date() == end.date())
    rows = []
    for outlet in report["outlets"]:
        dots = []
        for article in outlet["articles"]:
            when = _when(article["published"])
            if when is None or start is None:
                continue
            place = 100 * (when - start).total_seconds() / span
            dots.append(
                {
                    "place": round(place, 2),
                    "label": f"{when:%H:%M}" if same_day else f"{when:%d %b %H:%M}",
                    "title": f"{when:%d %b %Y %H:%M} UTC · {article['title']}",
                    "edge": "end" if place > 75 else "start" if place < 25 else "middle",
                }
            )
        rows.append(
            {
                "name": outlet["name"],
                "kind": outlet["kind"] or "other",
                "colour": KIND_COLOURS.get(outlet["kind"] or "", OTHER_KIND),
                "dots": dots,
            }
        )
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    return {
        "rows": rows,
        "legend": [{"kind": k, "colour": KIND_COLOURS.get(k, OTHER_KIND)} for k in kinds],
        "start": f"{start:%d %b %Y %H:%M} UTC" if start else None,
        "end": f"{end:%d %b %Y %H:%M} UTC" if end else None,
    }


def aligned(report: dict[str, Any]) -> dict[str, Any]:
    """The articles side by side as a table: one row per claim group told by two or more outlets
    (in the order the story tells them), one column per outlet holding that outlet's sentence (or
    nothing); then one row with each outlet's claims that no other outlet carries."""
    names = [o["name"] for o in report["outlets"]]
    colours = group_colours(report)
    rows = []
    only: dict[str, list[str]] = {n: [] for n in names}
    for group in report["claim_groups"]:
        by_outlet: dict[str, list[str]] = {}
        for claim in sorted(group["claims"], key=lambda c: c["index"]):
            by_outlet.setdefault(claim["outlet"], []).append(claim["text"])
        if len(by_outlet) < 2:
            for outlet, texts in by_outlet.items():
                only.setdefault(outlet, []).extend(texts)
            continue
        first = min(c["index"] for c in group["claims"])
        rows.append(
            {
                "group": group["id"],
                "colour": colours.get(group["id"]),
                "first": first,
                "cells": [by_outlet.get(n, []) for n in names],
            }
        )
    rows.sort(key=lambda r: (r["first"], str(r["group"])))
    return {
        "columns": side_by_side(report),
        "rows": rows,
        "only": [only.get(n, []) for n in names],
    }
