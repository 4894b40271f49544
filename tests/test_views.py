"""Pure view helpers of the story page: highlights, word diffs, coverage states, SVG escaping."""

import pytest

from storydiff.compare.schema import fold_label
from storydiff.web.svg import heatmap
from storydiff.web.views import coverage, highlight, side_by_side, timeline, word_diff


@pytest.mark.parametrize(
    ("claim", "pieces"),
    [
        (
            {"text": "It killed 18 civilians.", "span": [100, 123], "marks": [[110, 122]]},
            [("It killed ", False), ("18 civilians", True), (".", False)],
        ),
        ({"text": "Whole claim.", "span": [0, 12], "marks": [[0, 12]]}, [("Whole claim.", False)]),
        ({"text": "No marks here.", "span": [5, 19]}, [("No marks here.", False)]),
        (  # overlapping and out-of-range marks are clipped, never duplicated, and one mark
            {"text": "abc def ghi", "span": [10, 21], "marks": [[10, 17], [14, 30]]},
            [("abc def ghi", True)],
        ),
        (  # marks a space apart are one ("Linda T." and "Sánchez"), others stay apart
            {"text": "Rep. Linda T. Sánchez won, 98 to 96.", "span": [0, 36], "marks": [[5, 13], [14, 21], [27, 29]]},
            [("Rep. ", False), ("Linda T. Sánchez", True), (" won, ", False), ("98", True), (" to 96.", False)],
        ),
    ],
)
def test_highlight(claim, pieces):
    assert highlight(claim) == pieces


@pytest.mark.parametrize(
    ("old", "new", "diff"),
    [
        (
            "killed 18 civilians",
            "killed 19 civilians",
            [("equal", "killed"), ("del", "18"), ("ins", "19"), ("equal", "civilians")],
        ),
        ("meeting tabled", "meeting tabled (updated)", [("equal", "meeting tabled"), ("ins", "(updated)")]),
        ("same", "same", [("equal", "same")]),
    ],
)
def test_word_diff(old, new, diff):
    assert word_diff(old, new) == diff


REPORT = {
    "outlets": [
        {"name": n, "kind": "wire", "country": None, "account": i, "articles": [{"id": i, "published": p, "title": "t", "url": None}]}
        for i, (n, p) in enumerate([("<b>A</b>", "2025-10-21T10:00:00+00:00"), ("B & co", "2025-10-21T12:00:00+00:00"), ("C", None)])
    ],
    "claim_groups": [
        {"id": "g1", "claims": [{"outlet": "<b>A</b>", "index": 0, "text": "halted"}, {"outlet": "B & co", "index": 3, "text": "halted too"}]},
        {"id": "g2", "claims": [{"outlet": "C", "index": 1, "text": "goes ahead"}]},
    ],
    "divergences": [
        {"type": "contradiction", "claims": [
            {"outlet": "<b>A</b>", "index": 0, "value": "halted"},
            {"outlet": "C", "index": 1, "value": "goes ahead"},
        ]},
    ],
    "agreement": {"outlets": ["<b>A</b>", "B & co", "C"], "matrix": [[1.0, 1.0, 0.0], [1.0, 1.0, None], [0.0, None, 1.0]]},
}  # fmt: skip


def test_coverage_marks_carried_contradicted_and_omitted():
    assert coverage(REPORT) == [{"id": "g1", "text": "halted", "cells": ["carried", "carried", "contradicted"]}]


def test_side_by_side_colours_only_shared_groups():
    columns = side_by_side(REPORT)
    assert [c["colour"] for col in columns for c in col["claims"]] == [0, 0, None]


def test_svg_escapes_outlet_names():
    svg = heatmap(REPORT)
    assert "<b>" not in svg and "&lt;b&gt;A&lt;/b&gt;" in svg and "B &amp; co" in svg
    assert svg.count("<rect") == 9
    # the timeline is HTML now (autoescaped by the template): plain data here, one dot per dated article
    rows = timeline(REPORT)["rows"]
    assert sum(len(r["dots"]) for r in rows) == 2 and rows[0]["name"] == "<b>A</b>"


def test_coverage_follows_the_divergence_list():
    report = {
        "outlets": [{"name": n} for n in ("A", "B", "C", "D", "E")],
        "claim_groups": [
            {
                "id": "g1",
                "claims": [
                    {"outlet": "A", "index": 0, "text": "the talks were put on hold"},
                    {"outlet": "B", "index": 0, "text": "the talks were put on hold"},
                    {"outlet": "C", "index": 2, "text": "nothing was put on hold"},
                ],
            }
        ],
        "divergences": [
            {
                "type": "contradiction",
                "group": None,
                "outlets": ["A", "B", "C"],
                "claims": [
                    {"outlet": "A", "index": 0, "value": "halted"},
                    {"outlet": "B", "index": 0, "value": "halted"},
                    {"outlet": "C", "index": 2, "value": "goes ahead"},
                ],
            },
            {
                "type": "omission",
                "group": "g1",
                "outlets": ["A", "B", "D"],
                "claims": [{"outlet": "A"}, {"outlet": "B"}],
            },
        ],
    }
    # C's sentence sits in the group but tells the opposite; D is reported as omitting it; E is not
    assert coverage(report)[0]["cells"] == ["carried", "carried", "contradicted", "omitted", "absent"]


def test_low_omissions_and_exclusives_fold_per_outlet():
    exclusive = {"type": "exclusive", "outlets": ["A"], "claims": [{"outlet": "A"}]}
    omission = {"type": "omission", "outlets": ["A", "B", "C"], "claims": [{"outlet": "A"}, {"outlet": "B"}]}
    assert fold_label(exclusive) == "Only A reports" and fold_label(omission) == "C omits"


def test_a_story_with_only_omissions_and_exclusives_says_so_and_folds_them(shared_data):
    """Real news (BASIL): when no typed divergence is found, the page says what was compared and
    folds the facts only some outlets carry, with the reason they are low."""
    from markupsafe import Markup

    from storydiff.compare.report import build_report
    from storydiff.evals.divergences import load_basil
    from storydiff.web import svg, views
    from storydiff.web.templating import TEMPLATES

    for event in load_basil(shared_data / "basil-dev"):
        report = build_report(event.articles, story_id=1, title=event.articles[0].title)
        if report["divergences"] and all(d["type"] in ("omission", "exclusive") for d in report["divergences"]):
            break
    context = {
        "report": report,
        "type": None,
        "types": [],
        "divergences": views.divergences(report),
        "coverage": views.coverage(report),
        "aligned": views.aligned(report),
        "heatmap": Markup(svg.heatmap(report)),
        "timeline": views.timeline(report),
        "edits": [],
    }
    html = TEMPLATES.env.get_template("_story_body.html").render(context)
    listed, folded = html.split('<details class="minor">', 1)
    assert "No number, quote, source, name or contradiction differs" in listed
    assert 'class="divergence' not in listed.split('id="divergences"', 1)[1]
    assert f"{len(report['divergences'])} low-severity omissions and exclusives" in folded
    assert "same fact in other words" in folded


def test_the_story_page_lists_three_of_each_outlets_fold_then_the_rest_behind_more():
    from datetime import UTC, datetime

    from markupsafe import Markup

    from storydiff.compare.report import StoryArticle, build_report
    from storydiff.web import svg, views
    from storydiff.web.templating import TEMPLATES
    from tests.test_cli import FOLDED_STORY

    day = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    report = build_report(
        [StoryArticle(n, outlet, "Pier to close", text, day) for n, (outlet, text) in enumerate(FOLDED_STORY)]
    )
    html = TEMPLATES.env.get_template("_story_body.html").render(
        report=report, type=None, types=[], divergences=views.divergences(report, None),
        coverage=views.coverage(report), aligned=views.aligned(report), heatmap=Markup(svg.heatmap(report)),
        timeline=views.timeline(report), edits=[], export=True,
    )  # fmt: skip
    fold = html[html.index("Only Alpha Post reports: 5</summary>") :]
    fold = fold[: fold.index('<details class="outlet">')] if '<details class="outlet">' in fold else fold
    first, _, rest = fold.partition('<details class="more-fold"><summary>+2 more</summary>')
    assert rest, fold[:300]
    assert first.count('data-type="exclusive"') == 3 and rest.count('data-type="exclusive"') == 2
    assert "<mark>Tomas Brandt</mark>" in first  # the first of the fold: what the others never mention
