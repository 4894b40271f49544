"""Pure parsing core: tables of inputs and expected normalised items."""

import os
from datetime import UTC, datetime, timedelta

import pytest

from storydiff.errors import ParseError
from storydiff.ingest.language import detect_language
from storydiff.ingest.parse import parse_feed, parse_foreign_date
from storydiff.ingest.text import html_to_text
from storydiff.ingest.urls import canonical_url
from tests.feedserver import rss

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://ex.com/a?utm_source=x&utm_medium=y&id=3", None, "https://ex.com/a?id=3"),
        ("https://ex.com/a?fbclid=1&gclid=2#frag", None, "https://ex.com/a"),
        ("HTTP://EX.com:80/a", None, "http://ex.com/a"),
        ("https://ex.com:8443/a", None, "https://ex.com:8443/a"),
        ("/story/1?UTM_Campaign=z", "https://ex.com/feed", "https://ex.com/story/1"),
        ("https://ex.com", None, "https://ex.com/"),
        ("javascript:alert(1)", None, None),
        ("mailto:a@b.c", None, None),
        ("", None, None),
        ("http://[::1]:8080/x", None, "http://[::1]:8080/x"),
    ],
)
def test_canonical_url(url, base, expected):
    assert canonical_url(url, base) == expected


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>One</p><p>Two &amp; three</p>", "One\nTwo & three"),
        ("plain   text\n\n\n\nnext", "plain text\n\nnext"),
        ("<script>alert(1)</script><style>p{}</style>Visible<!-- hidden -->", "Visible"),
        ('<img src=x onerror="alert(1)">caption', "caption"),
        ("<div><iframe src='http://evil'></iframe>ok</div>", "ok"),
        ("", ""),
        ("<p>unclosed <b>bold", "unclosed bold"),
    ],
)
def test_html_to_text(markup, expected):
    assert html_to_text(markup) == expected


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        ("anything", "en-US", "en"),
        ("whatever", "pt_BR", "pt"),
        ("The foreign ministers met in Budapest on Thursday to discuss the summit", None, "en"),
        ("Der Außenminister traf sich am Donnerstag in Budapest mit seinem Kollegen", None, "de"),
        ("short", None, None),
    ],
)
def test_detect_language(text, declared, expected):
    assert detect_language(text, declared) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
        ("mar., 03 févr. 2026 10:00:00 +0100", datetime(2026, 2, 3, 9, 0, tzinfo=UTC)),
        ("not a date", None),
    ],
)
def test_parse_foreign_date(raw, expected):
    assert parse_foreign_date(raw) == expected


def parse(items, **kw):
    return parse_feed(rss(items, **kw).encode(), "application/rss+xml", "http://feeds.example/f.xml", NOW)


@pytest.mark.parametrize(
    ("date", "flag", "published"),
    [
        ("Tue, 21 Oct 2025 22:10:00 +0000", None, datetime(2025, 10, 21, 22, 10, tzinfo=UTC)),
        ("Tue, 21 Oct 2025 22:10:00 +0200", None, datetime(2025, 10, 21, 20, 10, tzinfo=UTC)),
        ("yesterday-ish", "unparseable", NOW),
        (None, "missing", NOW),
        ((NOW + timedelta(days=3)).strftime("%a, %d %b %Y %H:%M:%S +0000"), "future", NOW),
    ],
)
def test_published_time_is_utc_and_flagged(date, flag, published):
    item = {"title": "T", "link": "http://ex.com/1"}
    if date:
        item["date"] = date
    parsed = parse([item])
    assert parsed.items[0].published == published
    assert parsed.items[0].published_flag == flag


@pytest.mark.parametrize(
    ("item", "expected_id"),
    [
        ({"title": "T", "guid": " urn:x:g-1 ", "link": "http://ex.com/1"}, "urn:x:g-1"),
        ({"title": "T", "link": "http://ex.com/1?utm_source=a"}, "http://ex.com/1"),
    ],
)
def test_stable_id(item, expected_id):
    assert parse([item]).items[0].entry_id == expected_id


def test_stable_id_without_guid_or_link_is_a_hash_of_title_and_date():
    a = parse([{"title": "Same", "date": "Tue, 21 Oct 2025 22:10:00 +0000"}]).items[0]
    b = parse([{"title": "Same", "date": "Tue, 21 Oct 2025 22:10:00 +0000"}]).items[0]
    c = parse([{"title": "Same", "date": "Wed, 22 Oct 2025 22:10:00 +0000"}]).items[0]
    assert a.entry_id.startswith("hash:") and a.entry_id == b.entry_id != c.entry_id
    assert a.url is None


def test_content_beats_summary_and_scripts_are_removed():
    item = parse(
        [
            {
                "title": "<b>Bold</b> title",
                "link": "http://ex.com/1",
                "description": "Short.",
                "content": "<p>Long body.</p><script>steal()</script><p>Second paragraph.</p>",
            }
        ]
    ).items[0]
    assert item.title == "Bold title"
    assert item.summary == "Short."
    assert item.body == "Long body.\nSecond paragraph."


def test_duplicate_guids_keep_the_first_and_are_reported():
    parsed = parse([{"title": "First", "guid": "x"}, {"title": "Second", "guid": "x"}, {"title": "Other", "guid": "y"}])
    assert [i.title for i in parsed.items] == ["First", "Other"]
    assert any("GUID" in p for p in parsed.problems)


def test_empty_channel_is_a_reported_problem_not_an_error():
    parsed = parse([])
    assert parsed.items == () and parsed.problems == ("the feed has no entries",)


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>",
            "text/html",
            "HTML page",
        ),
        (b"", "application/rss+xml", "empty document"),
        (b"\x00\x01\x02 binary junk", "application/octet-stream", "neither RSS nor Atom"),
    ],
)
def test_not_a_feed_raises_a_clear_parse_error(body, content_type, words):
    with pytest.raises(ParseError, match=words):
        parse_feed(body, content_type, "http://ex.com/feed", NOW)


def test_ttl_is_read_in_seconds():
    assert parse([{"title": "T"}], extra="<ttl>30</ttl>").ttl_seconds == 1800


def test_malformed_feed_keeps_readable_entries():
    body = rss([{"title": "Good one", "link": "http://ex.com/1"}]).replace(
        "</channel>", "<item><title>broken &bogus; </channel>"
    )
    parsed = parse_feed(body.encode(), "application/rss+xml", "http://ex.com/f", NOW)
    assert [i.title for i in parsed.items][:1] == ["Good one"]
    assert parsed.problems and parsed.problems[0].startswith("malformed feed")


def test_language_left_pending_is_identified_later_with_the_same_answer(shared_data):
    """The parse workers parse with identify_language=False (no language model per worker): a declared
    language is kept, the rest is identified later from the same text, with the answer parse_feed gives.
    Every real feed is read as served and with its declared languages removed."""
    import re

    compared = pending = 0
    for path in sorted((shared_data / "rss-feeds-real").rglob("*.xml")):
        raw = path.read_bytes()
        for body in (raw, re.sub(rb"<(dc:)?language>[^<]*</(dc:)?language>", b"", raw)):
            try:
                full = parse_feed(body, "application/rss+xml", "https://feed.example/", NOW)
            except ParseError:
                continue
            lazy = parse_feed(body, "application/rss+xml", "https://feed.example/", NOW, identify_language=False)
            for a, b in zip(full.items, lazy.items, strict=True):
                assert not a.language_pending
                assert b.language_pending == (b.language is None)
                if not b.language_pending:
                    assert b.language == a.language  # declared by the feed or the entry
                assert b.identified_language() == a.language
                compared += 1
                pending += b.language_pending
    assert compared > 1000 and pending > 500  # both paths are exercised


def test_language_model_mapped_copy_answers_like_py3langid(tmp_path, monkeypatch, shared_data):
    """The first process writes the uncompressed copy, later ones map it; both give py3langid's
    own answers on real headlines and article leads (what the ingest identifies)."""
    import csv

    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from storydiff.ingest import langmodel

    monkeypatch.setenv("STORYDIFF_CACHE_DIR", str(tmp_path / "cache"))
    written = langmodel.load_identifier()
    (folder,) = [p for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")]
    assert folder.name.startswith("langid-") and (folder / "ptc.npy").is_file()
    left = [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")]
    assert left == [folder.name]  # no half-written copy left
    mapped = langmodel.load_identifier()
    assert not mapped.nb_ptc.flags.owndata and not written.nb_ptc.flags.writeable  # mapped, read-only
    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    with (shared_data / "uci-news-aggregator" / "uci-news-aggregator.head6366.csv").open(encoding="utf-8") as f:
        texts = [row[1] for row in list(csv.reader(f))[1:1500]]
    with (shared_data / "fnc-1" / "train_bodies.csv").open(encoding="utf-8") as f:
        texts += [row[1][:240] for row in list(csv.reader(f))[1:500]]
    texts += ["Der Außenminister traf sich am Donnerstag in Budapest", "Le ministre a rencontré son homologue"]
    answers = [reference.classify(t) for t in texts]
    assert [mapped.classify(t) for t in texts] == answers
    assert [written.classify(t) for t in texts] == answers
    assert {lang for lang, _ in answers} >= {"en", "de", "fr"}


_BUILDER = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
from storydiff.ingest.langmodel import load_identifier
from storydiff.compare.zipf import zipf
print(load_identifier().classify("Der Außenminister traf sich am Donnerstag in Budapest")[0], zipf("minister"))
"""


def test_processes_starting_together_build_each_cache_once(tmp_path):
    """Four processes on a fresh machine (a worker and its parse processes start together): one of
    them writes the language model's copy and the word table, the others wait for it and map what
    it wrote (each building its own at the same moment is ~250 MB + ~130 MB per process)."""
    import subprocess
    import sys

    env = {**os.environ, "STORYDIFF_CACHE_DIR": str(tmp_path / "cache")}
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", _BUILDER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=120) for p in starts]
    assert [p.returncode for p in starts] == [0, 0, 0, 0], [err for _, err in results]
    assert {out for out, _ in results} == {results[0][0]} and results[0][0].startswith("de ")
    logs = "".join(err for _, err in results)
    assert logs.count("writing its uncompressed copy") == 1, logs
    assert logs.count("word frequencies: writing the table") == 1, logs
    assert "unavailable" not in logs and "cannot map" not in logs  # every process mapped the copies
    names = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert [n for n in names if not n.endswith(".lock")] == [n for n in names if n.startswith(("langid-", "zipf-"))]
    assert len([n for n in names if not n.endswith(".lock")]) == 2  # no half-written copy left


def test_language_model_loads_compressed_when_the_cache_cannot_be_written(tmp_path, monkeypatch):

    from storydiff.ingest import langmodel

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("STORYDIFF_CACHE_DIR", str(blocker / "cache"))
    identifier = langmodel.load_identifier()
    assert identifier.nb_ptc.flags.writeable  # read as py3langid does, not mapped
    assert identifier.classify("The foreign ministers met in Budapest on Thursday")[0] == "en"


def test_memoised_url_joins_and_buffered_text_give_feedparser_the_same_answers(shared_data):
    """feedparser's URL joins are memoised for its parser and its SAX parser buffers character
    data: every feed of its own edge-case corpus (xml:base, relative links, unsafe schemes, broken
    markup, entities, CDATA) and the real news feeds parse to the same result with and without."""
    import feedparser

    from storydiff.ingest import parse as parse_module

    files = sorted(
        p
        for folder in ("feedparser-test-feeds", "rss-feeds-real")
        for p in (shared_data / folder).rglob("*")
        if p.is_file() and p.name != "README.md"
    )
    assert len(files) > 2000

    def parsed(body: bytes) -> str:
        result = feedparser.parse(
            body, response_headers={"content-location": "http://127.0.0.1/feeds/x.xml"}, resolve_relative_uris=True
        )
        return repr((result.get("feed"), result.get("entries"), result.get("bozo")))

    bodies = [p.read_bytes() for p in files]
    memoised = [parsed(b) for b in bodies]
    parse_module._memoised_url_joins(False)
    parse_module._buffered_text(False)
    try:
        plain = [parsed(b) for b in bodies]
    finally:
        parse_module._memoised_url_joins(True)
        parse_module._buffered_text(True)
    differ = [str(p) for p, a, b in zip(files, memoised, plain, strict=True) if a != b]
    assert differ == []
    assert parse_module._safe_absolute_uri.cache_info().hits > 0
    assert isinstance(
        feedparser.api.xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS), parse_module._BufferedExpatParser
    )
