"""The mapped word-frequency table answers exactly as wordfreq does (compare/zipf.py)."""

from __future__ import annotations

import json
import re

import pytest
from wordfreq import get_frequency_dict, zipf_frequency

from storydiff.compare import zipf as table_module
from storydiff.compare.zipf import zipf


@pytest.fixture
def fresh_table(tmp_path, monkeypatch):
    monkeypatch.setenv("STORYDIFF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(table_module, "_table", None)  # this process opens (and writes) it again
    return tmp_path / "cache"


def test_every_listed_word_and_real_news_words_get_wordfreqs_value(fresh_table, shared_data):
    listed = list(get_frequency_dict("en"))
    assert [zipf(w) for w in listed] == [zipf_frequency(w, "en") for w in listed]
    (written,) = [p for p in fresh_table.iterdir() if not p.name.endswith(".lock")]  # no half-written file left
    assert written.name.startswith("zipf-en-")
    assert isinstance(table_module._table, table_module._Table) and len(table_module._table) > 300_000
    words: set[str] = set()
    for path in sorted((shared_data / "basil-dev" / "articles").glob("*/*.json"))[:120]:
        paragraphs = json.loads(path.read_text(encoding="utf-8"))["body-paragraphs"]
        text = " ".join(" ".join(p) if isinstance(p, list) else str(p) for p in paragraphs)
        found = re.findall(r"\w+(?:['’]\w+)?", text)
        words |= set(found) | {w.lower() for w in found}
    assert len(words) > 5_000
    assert sum(any(c.isdigit() for c in w) for w in words) > 100  # years, counts, "covid19"
    # real feeds in other scripts and languages (Japanese, Spanish "10ª"): wordfreq's own tokenizer
    for path in sorted((shared_data / "rss-feeds-real").rglob("*.xml"))[:40]:
        text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8", errors="replace"))
        words |= set(re.findall(r"[^\W_]+(?:['’][^\W_]+)?", text))
    assert sum(not w.isascii() for w in words) > 1_000
    # names, possessives with either apostrophe, "O'Hara" (split by wordfreq), numbers, accents
    words |= {
        "Trump’s",
        "o'hara",
        "o’hara",
        "y’all",
        "Qa'ida",
        "d'Ivoire",
        "don’t",
        "Peña",
        "Straße",
        "2025",
        "1066",
        "g7",
        "COVID19",
    }
    words |= {"2020s", "000", "1990's", "1898’s", "g7's", "abc'12", "5'9", "3.5", "1,200", "Путин", "北京", ""}
    # a trailing apostrophe, straight or curly, as a tokenizer cuts "Obama's" ("obama'"), on every form above
    words |= {w + mark for w in sorted(words)[::7] for mark in ("'", "’")}
    words |= {"obama'", "it’", "l'", "qu'", "2020'", "ma'am'", "rock'n'roll'", "'", "’"}
    # other scripts, each shortcut of the lookup and its edges: Han and hiragana runs, katakana runs
    # (one opening with the lengthening mark), a mix of them (several tokens), letters no listed word
    # has, full-width Latin, Hangul, Thai, Cyrillic, Greek, Arabic
    words |= {
        "東京",
        "中国",
        "の",
        "ひらがな",
        "食べた",
        "一",
        "ー",
        "々",
        "ロイター",
        "ーロ",
        "テスト",
        "カ月物ユーロ",
    }
    words |= {"東京タワー", "ｆｔｓｅ", "ＡＳＸ", "서울", "ภาษาไทย", "москва", "Путин", "ελλάδα", "العربية", "北京市"}
    # Japanese with ASCII or full-width digits (a token per run), Spanish ordinals
    words |= {"2026年8月20日", "２０２５年には３８", "第２", "８８", "7万回分", "ロイター2", "10ª", "2º", "1ºde", "ª10"}
    assert {w: zipf(w) for w in words} == {w: zipf_frequency(w, "en") for w in words}


def test_a_second_process_maps_the_written_table(fresh_table):
    assert zipf("harbour") == zipf_frequency("harbour", "en")
    (written,) = [p for p in fresh_table.iterdir() if not p.name.endswith(".lock")]
    stamp = written.stat().st_mtime_ns
    table_module._table = None  # as a new process would
    assert zipf("harbour") == zipf_frequency("harbour", "en") and zipf("xqzvtw") == 0.0
    assert written.stat().st_mtime_ns == stamp  # read, not written again


def test_an_unusable_cache_falls_back_to_wordfreq(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("STORYDIFF_CACHE_DIR", str(blocker))
    monkeypatch.setattr(table_module, "_table", None)
    assert zipf("harbour") == zipf_frequency("harbour", "en")
    assert table_module._table is False and "using wordfreq's own list" in caplog.text


def test_a_damaged_table_is_refused_not_read(fresh_table, caplog):
    assert zipf("harbour") > 0
    (written,) = [p for p in fresh_table.iterdir() if not p.name.endswith(".lock")]
    written.write_bytes(written.read_bytes()[:1000])  # truncated
    table_module._table = None
    assert zipf("harbour") == zipf_frequency("harbour", "en")
    assert table_module._table is False and "truncated" in caplog.text


def test_numbers_and_japanese_get_wordfreqs_value_without_importing_wordfreqs_package(fresh_table):
    """A word with digits is weighted by wordfreq's own ``digit_freq``, whose module is loaded alone,
    and a run of Han, hiragana or katakana, or a word with a letter no listed word has, is looked up
    without wordfreq's tokenizer: a process that meets them does not import wordfreq's package
    (langcodes, msgpack, its tokenizer: ~0.25 s and ~15 MB) — checked in a fresh process mapping the
    table written here."""
    import os
    import subprocess
    import sys

    assert zipf("harbour") == zipf_frequency("harbour", "en")  # writes the table in the folder
    words = ["2025", "1066", "covid19", "g7", "1990s", "2020s", "000", "737", "5g", "Route66", "obama'", "2020’"]
    words += ["東京", "ひらがな", "中国", "ロイター", "서울", "ｆｔｓｅ"]  # Han, hiragana, katakana, unlisted letters
    words += ["2026年8月20日", "２０２５年には３８", "10ª"]  # with digits, ASCII or full-width
    script = (
        "import json, sys\n"
        "from storydiff.compare.zipf import zipf\n"
        f"values = [zipf(w) for w in {words!r}]\n"
        "print(json.dumps({'values': values, 'wordfreq': sorted(m for m in sys.modules if m.startswith('wordfreq'))}))\n"
    )
    env = {**os.environ, "STORYDIFF_CACHE_DIR": str(fresh_table)}
    out = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True)
    found = json.loads(out.stdout)
    assert found["values"] == [zipf_frequency(w, "en") for w in words]
    assert found["wordfreq"] == []  # neither the package nor its submodules
