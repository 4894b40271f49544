"""Claim comparison end to end on two corpora we wrote: the demo's Rubio–Lavrov story (six
outlets, planted differences) and a flood death-toll story told over one day. Every planted
divergence must be found with the right type and outlets; agreeing claims must not be called
contradictions; an identical wire copy must produce nothing against its original."""

import json
from pathlib import Path

import pytest

from storydiff.compare.offline import compare_articles, read_articles
from storydiff.compare.render import report_markdown
from storydiff.demo.articles import demo_articles

FLOOD = Path(__file__).parent / "fixtures" / "flood_toll.jsonl"
NORTHWIND, COURIER, DANUBE = "Northwind News Network", "Courier Wire", "Danube Daily"
FIA, BULLETIN, STATE = "Federal Information Agency", "Moscow Official Bulletin", "Department of State Press Office"


def _story(lines: list[str]) -> dict:
    result = compare_articles(read_articles(lines), min_outlets=2)
    assert len(result["stories"]) == 1, [s["title"] for s in result["stories"]]
    return result["stories"][0]


@pytest.fixture(scope="module")
def demo_report() -> dict:
    return _story([json.dumps(a) for a in demo_articles()])


@pytest.fixture(scope="module")
def flood_report() -> dict:
    return _story(FLOOD.read_text(encoding="utf-8").splitlines())


def _of_type(report: dict, kind: str) -> list[dict]:
    return [d for d in report["divergences"] if d["type"] == kind]


def _sides(divergence: dict) -> dict[str, set[str]]:
    """value → outlets stating it."""
    out: dict[str, set[str]] = {}
    for claim in divergence["claims"]:
        out.setdefault(claim["value"].lower().strip(' ."'), set()).add(claim["outlet"])
    return out


def _one(divergences: list[dict], *words: str) -> dict:
    found = [d for d in divergences if all(w.lower() in d["summary"].lower() for w in words)]
    assert len(found) == 1, (words, [d["summary"] for d in divergences])
    return found[0]


# ---- the demo story -----------------------------------------------------------------------
def test_demo_story_has_all_outlets_and_marks_the_wire_copy(demo_report):
    outlets = {o["name"]: o for o in demo_report["outlets"]}
    assert set(outlets) == {NORTHWIND, COURIER, DANUBE, FIA, BULLETIN, STATE}
    assert outlets[DANUBE]["copy_of"] == COURIER
    assert all(o["copy_of"] is None for name, o in outlets.items() if name != DANUBE)
    assert outlets[BULLETIN]["kind"] == "government" and outlets[FIA]["country"] == "RU"


def test_demo_numeric_18_vs_21_civilians(demo_report):
    numeric = _one(_of_type(demo_report, "numeric"), "civilians")
    assert numeric["severity"] == "high"
    assert _sides(numeric) == {"18 civilians": {NORTHWIND}, "21 civilians": {COURIER, DANUBE}}


def test_demo_quote_worded_differently_with_word_diff(demo_report):
    quote = _one(_of_type(demo_report, "quote"), "Lavrov")
    outlets_by_wording = {frozenset(v) for v in _sides(quote).values()}
    assert outlets_by_wording == {frozenset({NORTHWIND, BULLETIN}), frozenset({COURIER, DANUBE})}
    changed = {(a, b) for op, a, b in quote["diff"] if op != "equal"}
    assert ("prepared", "ready") in changed or ("ready", "prepared") in changed
    for claim in quote["claims"]:  # the marks are the differing words, inside the claim
        marked = [claim["text"][a - claim["span"][0] : b - claim["span"][0]] for a, b in claim["marks"]]
        assert any(word in " ".join(marked) for word in ("prepared", "ready"))
        assert "we are" not in " ".join(marked)  # only the differing words are marked
    assert any("not" in a.split() + b.split() for op, a, b in quote["diff"] if op != "equal")  # the meaning turns


def test_demo_attribution_white_house_official_vs_peskov(demo_report):
    attribution = _one(_of_type(demo_report, "attribution"), "White House official", "Peskov")
    sides = _sides(attribution)
    assert sides["official"] == {NORTHWIND}
    assert sides["peskov"] == {COURIER, DANUBE, FIA}


def test_demo_contradiction_tabled_vs_nothing_postponed(demo_report):
    [contradiction] = _of_type(demo_report, "contradiction")
    sides = _sides(contradiction)
    assert {NORTHWIND, COURIER} <= sides["halted"]
    assert {BULLETIN, FIA} <= sides["goes ahead"]
    assert STATE not in contradiction["outlets"]  # "not needed at this time" agrees with "tabled"
    assert "nothing was postponed" in contradiction["summary"]


def test_demo_framing_fiasco_and_so_called(demo_report):
    framing = _of_type(demo_report, "framing")
    assert _one(framing, "fiasco")["outlets"][0] in (FIA, COURIER, NORTHWIND)
    fiasco = _one(framing, "fiasco")
    # ("speculation", the plain word for unconfirmed talk, is not framing)
    assert any(c["outlet"] == FIA and c["value"] == "fiasco" for c in fiasco["claims"])
    so_called = _one(framing, "so-called")
    assert so_called["claims"][0]["outlet"] == NORTHWIND and so_called["severity"] == "low"


def test_demo_omission_and_exclusive(demo_report):
    omission = _one(_of_type(demo_report, "omission"), f"{BULLETIN} omits", "wasted meeting")
    assert {NORTHWIND, COURIER, FIA} <= set(omission["outlets"])
    assert not any(  # FIA contradicts the "put on hold" claim: that is not an omission
        d["summary"].startswith(FIA) and "put on hold" in d["summary"] for d in _of_type(demo_report, "omission")
    )
    _one(_of_type(demo_report, "exclusive"), f"Only {NORTHWIND}", "ceasefire")


def test_demo_wire_copy_never_diverges_from_its_original(demo_report):
    names = demo_report["agreement"]["outlets"]
    courier, danube = names.index(COURIER), names.index(DANUBE)
    assert demo_report["agreement"]["matrix"][courier][danube] == 1.0
    for d in demo_report["divergences"]:
        values = {c["outlet"]: c["value"] for c in d["claims"]}
        if COURIER in values and DANUBE in values:
            assert values[COURIER] == values[DANUBE], d["summary"]
    assert not any(set(d["outlets"]) == {COURIER, DANUBE} for d in demo_report["divergences"])


def test_every_divergence_has_evidence_spans_into_the_articles(demo_report, flood_report):
    for report, articles in ((demo_report, demo_articles()), (flood_report, None)):
        texts = {o["account"]: None for o in report["outlets"]}
        if articles:
            texts = {i: a["text"] for i, a in enumerate(articles, start=1)}
        else:
            texts = {i: json.loads(line)["text"] for i, line in enumerate(FLOOD.read_text().splitlines(), start=1)}
        assert report["divergences"]
        fingerprints = [d["fingerprint"] for d in report["divergences"]]
        assert len(set(fingerprints)) == len(fingerprints)  # one per divergence (two exclusives of one outlet too)
        for d in report["divergences"]:
            assert d["claims"] and d["summary"] and d["severity"] in ("high", "medium", "low")
            assert len(d["fingerprint"]) == 16
            for claim in d["claims"]:
                start, end = claim["span"]
                assert texts[claim["article_id"]][start:end] == claim["text"]
                for a, b in claim["marks"]:
                    assert start <= a < b <= end


# ---- the flood story ------------------------------------------------------------------------
def test_flood_death_toll_rising_over_the_day(flood_report):
    toll = _one(_of_type(flood_report, "numeric"), "people")
    sides = _sides(toll)
    assert sides["12 people"] == {"Valtera Herald"}
    assert sides["19 people"] == {"Meridian Wire", "Plainsview Times"}
    assert sides["27 people"] == {"Channel Nine Report", "Regional Civil Protection Office", "Eastgate Post"}


def test_flood_days_away_vs_weeks_away(flood_report):
    repairs = _one(_of_type(flood_report, "numeric"), "away")
    assert _sides(repairs) == {"weeks away": {"Valtera Herald"}, "days away": {"Meridian Wire", "Plainsview Times"}}


def test_flood_quote_attribution_framing_omission_exclusive(flood_report):
    quote = _one(_of_type(flood_report, "quote"), "Brandt")
    assert {frozenset(v) for v in _sides(quote).values()} == {
        frozenset({"Valtera Herald", "Channel Nine Report"}),
        frozenset({"Meridian Wire", "Plainsview Times"}),
    }
    source = _one(_of_type(flood_report, "attribution"), "fire service")
    assert _sides(source)["service"] == {"Valtera Herald"}
    assert _one(_of_type(flood_report, "framing"), "chaotic")["claims"][0]["outlet"] == "Eastgate Post"
    _one(_of_type(flood_report, "omission"), "Eastgate Post omits", "Brandt")
    _one(_of_type(flood_report, "exclusive"), "Only Channel Nine Report", "looting")


def test_flood_contradictions_and_only_those(flood_report):
    contradictions = _of_type(flood_report, "contradiction")
    rescue = _one(contradictions, "rescue")
    assert _sides(rescue) == {
        "halted": {"Valtera Herald", "Eastgate Post"},
        "goes ahead": {"Meridian Wire", "Plainsview Times", "Regional Civil Protection Office"},
    }
    levee = _one(contradictions, "levee")
    assert _sides(levee) == {"denied": {"Channel Nine Report"}, "agreed": {"Meridian Wire", "Plainsview Times"}}
    assert len(contradictions) == 2  # "no injuries" vs "nobody was hurt" agree: not a contradiction


def test_unrelated_articles_stay_out_of_the_story():
    result = compare_articles(read_articles(FLOOD.read_text(encoding="utf-8").splitlines()))
    titles = [s["title"] for s in result["stories"]]
    assert len(titles) == 3
    flood = result["stories"][0]
    assert len(flood["outlets"]) == 6 and not any("galaxy" in a["title"] for a in flood["timeline"])


def test_markdown_report_escapes_and_shows_highlights(demo_report):
    text = report_markdown(demo_report)
    assert "**HIGH · numeric**" in text and "**21 civilians**" in text and "~~prepared~~" in text
    hostile = dict(demo_report, title="<script>alert(1)</script> [x](javascript:alert(1))")
    rendered = report_markdown(hostile)
    assert "<script>" not in rendered and "](javascript" not in rendered


@pytest.mark.slow
def test_real_multi_outlet_snapshot_compares_without_errors(shared_data):
    """All 863 items of the real same-time snapshot (41 feeds): clustering + comparison run
    through; every divergence's evidence points into its article; compared quotes are rewordings."""
    from datetime import UTC, datetime

    from rapidfuzz import fuzz

    from storydiff.compare.report import StoryArticle
    from storydiff.ingest.parse import parse_feed

    articles = []
    for file in sorted((shared_data / "rss-feeds-real" / "same_time_multi_outlet_snapshot").iterdir()):
        parsed = parse_feed(
            file.read_bytes(), None, f"http://127.0.0.1/{file.name}", datetime(2026, 8, 22, 22, tzinfo=UTC)
        )
        for item in parsed.items:
            articles.append(StoryArticle(len(articles), file.stem, item.title, item.body or item.title, item.published))
    assert len(articles) == 863
    result = compare_articles(articles, min_outlets=2)
    texts = {a.id: a.text for a in articles}
    multi = result["stories"]
    assert len(multi) >= 40
    for report in multi:
        for d in report["divergences"]:
            for claim in d["claims"]:
                start, end = claim["span"]
                assert texts[claim["article_id"]][start:end] == claim["text"]
            if d["type"] == "quote":
                values = [c["value"].lower() for c in d["claims"]]
                assert all(fuzz.ratio(values[0], v) >= 50 for v in values)


def test_quoting_a_stretch_of_the_same_statement_is_carrying_it():
    """An outlet that quotes five or more words of a statement others quote in full carries it
    (no omission, no exclusive); a quoted name or catchphrase is not a statement."""
    from storydiff.compare.claims import extract_claims
    from storydiff.compare.diverge import _quoted_stretches, _quotes_same_statement

    def quotes(text: str) -> list[tuple[str, int]]:
        return [q for c in extract_claims(text) for q in _quoted_stretches(c)]

    full = quotes(
        'Engineer Mira Holt said: "The old span cannot carry heavy trucks until every cracked pier is rebuilt, '
        'and the region ignored three warnings from our inspectors."'
    )
    excerpt = quotes('Holt said officials had "ignored three warnings from our inspectors" for years.')
    other = quotes('Holt said the council had "wasted two years on studies and meetings" instead.')
    title = quotes('Holt spoke on the "Morning Harbour Report" on Monday.')
    assert full and excerpt and other
    assert _quotes_same_statement(full, excerpt) and _quotes_same_statement(excerpt, full)
    assert not _quotes_same_statement(full, other)
    assert title == []  # three words: a name, not a statement


def _numeric(texts: list[str]) -> list[str]:
    from storydiff.compare.report import StoryArticle, build_report

    articles = [StoryArticle(n, f"Outlet {n}", "Senate vote", t, kind="newspaper") for n, t in enumerate(texts)]
    return [d["summary"] for d in build_report(articles)["divergences"] if d["type"] == "numeric"]


def test_a_one_digit_amount_with_a_scale_word_is_a_rounding():
    """ "$1 trillion" is what 1.2 trillion rounds to (0.5–1.5): no divergence; "$3 billion" is not
    what 3.6 billion rounds to: a divergence."""
    leads = [
        "The Senate passed the {} infrastructure bill on Tuesday after a week of debate.",
        "On Tuesday the Senate approved the {} infrastructure bill, ending a week of debate.",
        "A {} infrastructure bill cleared the Senate on Tuesday after days of debate.",
    ]
    rests = [
        "Senators from both parties praised the vote.",
        "The House is expected to take it up next month.",
        "Road builders welcomed the money for bridges.",
    ]

    def story(values: tuple[str, ...]) -> list[str]:
        return [f"{lead.format(v)} {rest}" for lead, rest, v in zip(leads, rests, values, strict=True)]

    assert _numeric(story(("$1 trillion", "$1.2 trillion", "$1.2 trillion"))) == []
    found = _numeric(story(("$3 billion", "$3.6 billion", "$3.6 billion")))
    assert len(found) == 1 and "$3 billion" in found[0] and "$3.6 billion" in found[0]


def test_two_counts_of_one_thing_in_differently_worded_sentences():
    """Three role words next to both numbers (oath, administered, justice) make one quantity even
    when the sentences around them are worded apart."""
    sworn = "Governor Tomas Halvorsen was sworn in on Friday in front of a crowd of supporters."
    taxes = "He promised to cut property taxes within a year."
    found = _numeric(
        [
            f"{sworn} Wearing a grey coat, Mr. Halvorsen took the 41-word oath administered by Chief Justice "
            f"Ana Berg precisely at noon. {taxes}",
            f"{sworn} Chief Justice Ana Berg administered the 44-word oath at 12:00 p.m., capping a long and bitter "
            f"campaign against two rivals. {taxes}",
            f"Governor Tomas Halvorsen took office on Friday. {taxes}",
        ]
    )
    assert found == ["41-word (Outlet 0) vs 44-word (Outlet 1)"]


def test_a_fact_told_across_two_sentences_in_a_row_is_carried():
    """An exclusive is not one when another outlet tells the fact over two sentences in a row; the
    same words scattered over sentences apart do not count."""
    from storydiff.compare.align import align_claims
    from storydiff.compare.claims import extract_claims
    from storydiff.compare.diverge import _covered_by_two
    from storydiff.compare.evidence import Account, StoryView

    fact = "Harbour master Lena Kowal said the ferry Nordlys ran aground on a sandbank near Tarnow island on Sunday."
    who = "Harbour master Lena Kowal spoke about the Nordlys on Sunday."
    what = "The ferry ran aground on a sandbank near Tarnow."
    aside = "Storms had closed the northern ports for a second day in a row."
    texts = [fact, f"{who} {what}", f"{who} {aside} {what}"]
    accounts = [Account(f"Outlet {n}", tuple(extract_claims(t))) for n, t in enumerate(texts)]
    story = StoryView(accounts, align_claims([a.claims for a in accounts]), False)
    cols = {n: [i for i, r in enumerate(story.alignment.refs) if r.account == n] for n in (1, 2)}
    claim = accounts[0].claims[0]
    assert _covered_by_two(story, claim, cols[1])
    assert not _covered_by_two(story, claim, cols[2])
    for n in (1, 2):  # no single sentence holds half of it: only the pair does
        refs = [story.alignment.refs[i] for i in cols[n]]
        assert all(not _covered_by_two(story, claim, [i]) for i in cols[n]) and refs


def test_a_fact_whose_specific_numbers_another_outlet_states_is_carried():
    """A vote tally or a count of three significant digits told by another outlet in a sentence of
    its own, in other words, is the same fact: no exclusive, no omission. A year, a round or a
    short number shared by chance does not carry a fact."""
    from storydiff.compare.report import StoryArticle, build_report

    texts = [
        "The regional assembly adopted the harbour levy 117-86 after a night of debate. "
        "Fishermen in Tarnow had staged a protest against the 2019 levy for a month. "
        "The levy will raise 4,730 kroner per trawler each season, the finance office said.",
        "Deputies voted 117-86 to approve the levy on Thursday. "
        "Union leader Piet Arndt called the 2019 rules a mistake that cost jobs at the docks.",
        "Harbour pilots plan a strike at 200 ports next week over unpaid overtime. "
        "Mayor Dora Halvorsen said 12 trawlers had already left for northern waters.",
    ]
    articles = [StoryArticle(n, f"Outlet {n}", "Harbour levy", t) for n, t in enumerate(texts)]
    rep = build_report(articles)
    exclusives = [d["summary"] for d in rep["divergences"] if d["type"] == "exclusive"]
    assert not [s for s in exclusives if "117-86" in s]  # the tally: told by outlets 0 and 1 in other words
    assert [s for s in exclusives if "4,730 kroner" in s]  # a specific number nobody else states
    assert [s for s in exclusives if "2019 levy" in s]  # a year shared by chance carries nothing
    assert [s for s in exclusives if "12 trawlers" in s]  # nor does a short number


# --- caches of a long-running process ---------------------------------------------------------

PER_WORD = {"_stem", "_rarity", "_english_zipf", "_forms"}  # keyed by one word: a vocabulary, WORD_CACHE


def _module_caches() -> list[tuple[str, object]]:
    import functools
    import importlib
    import pkgutil

    import storydiff.compare
    import storydiff.store

    found = []
    for package in (storydiff.compare, storydiff.store):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if isinstance(value, functools._lru_cache_wrapper) and value.__module__ == info.name:
                    found.append((f"{info.name}.{name}", value))
    return found


def test_every_cache_a_worker_keeps_between_reports_is_bounded_and_text_caches_hold_a_few_stories():
    """A worker computes reports for months: a cache keyed by texts (claims, quotes, names) holds
    what one report reads again and the stories recomputed lately, never months of texts (an entry
    costs 0.2–3.3 KB: at 65,536 entries the text caches alone came to ≈ 380 MB; see
    benchmarks/memory.py). Only a function without arguments may cache without a bound."""
    import inspect

    from storydiff.compare.features import TEXT_CACHE, WORD_CACHE

    caches = _module_caches()
    assert len(caches) >= 8, [n for n, _ in caches]  # the compare package's caches were all found
    for name, cache in caches:
        bound = cache.cache_info().maxsize
        if bound is None:
            assert not inspect.signature(cache.__wrapped__).parameters, f"{name}: unbounded"
        elif name.rsplit(".", 1)[-1] in PER_WORD:
            assert bound <= WORD_CACHE, name
        else:
            assert bound <= TEXT_CACHE, f"{name}: {bound} entries of texts"


def test_the_cycle_collector_is_paused_while_a_report_is_built_and_restored_after():
    """Building a report makes tens of thousands of short-lived objects that reference counting
    frees; the cycle collector's passes over them find nothing and cost 5–12 % of the build, so it
    is off during the build and back as it was after (and left off when the caller turned it off)."""
    import gc

    from storydiff.compare.report import build_report

    story = read_articles([json.dumps(a) for a in demo_articles()])
    passes: list[str] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            passes.append(phase)

    gc.callbacks.append(seen)
    threshold = gc.get_threshold()
    try:
        gc.set_threshold(1)  # a pass at almost every allocation while the collector is on
        before = len(passes)
        report = build_report(story)
        during = len(passes) - before  # (entering and leaving the call may allocate once or twice)
        assert report["divergences"]
        assert during < 5, during  # thousands with the collector on during the build
        assert gc.isenabled()
        gc.disable()
        build_report(story)
        assert not gc.isenabled()  # the caller's choice is kept
    finally:
        gc.enable()
        gc.set_threshold(*threshold)
        gc.callbacks.remove(seen)
