"""How common a word is in general English (wordfreq's Zipf scale), from a compact mapped table.

wordfreq reads its English list (321,180 words) into a dictionary: about 35 MB of private memory
in every process that clusters or builds a report (a CLI run, each Celery worker, the service).
The first process writes the list once to the cache folder (``STORYDIFF_CACHE_DIR``, by default
``$XDG_CACHE_HOME/storydiff``), in a file named after wordfreq's version: the words sorted as UTF-8
with their offsets and their frequency buckets (wordfreq stores a word's frequency as a whole
number of centibels). Every later process maps the file read-only and finds a word by binary
search; its pages are shared through the page cache and only the ones a search touches are read.

The values are those ``wordfreq.zipf_frequency(word, "en")`` returns: the word is split into
tokens as wordfreq splits it, each token looked up (a run of digits as zeros, weighted by
wordfreq's own ``digit_freq``) and the frequencies combined and rounded as wordfreq does. The
common forms are split here without wordfreq's code (after its English preprocessing: NFC, case
folding, "’" read as "'"): Latin letters with at most one inner apostrophe ("l'amour" and "o'hara",
with a straight apostrophe, are two tokens for its French elision rule), and ASCII letters and
digits ("1990's" is "1990" and "s", "5'9" one token), and either of them with a trailing apostrophe,
which wordfreq drops ("obama'", cut from "Obama's" by a tokenizer); Japanese split into runs of Han
and hiragana, of katakana and of digits (ASCII or full-width), as its tokenizer splits them; and a
text with a letter that no listed word has, which gets wordfreq's floor whatever the tokens. Any
other text (other scripts, punctuation inside) goes through wordfreq's own tokenizer: its code is
imported, never its list. When the
folder cannot be written or read, wordfreq answers itself. ``tests/test_zipf.py`` checks every
listed word and the words of real news in several scripts against wordfreq.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import mmap
import os
import re
import struct
import sys
import tempfile
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

from storydiff import settings

log = logging.getLogger(__name__)

MAGIC = b"SDZIPF2\n"
_LETTERS = "a-zà-öø-ÿ\u0100-\u017f"  # Basic Latin, Latin-1 and Latin Extended-A, lower case
# the forms split here as wordfreq's English tokenizer splits them (checked in tests/test_zipf.py):
# Latin letters with at most one inner apostrophe — one token ("trump's", "o'neill"), except one or
# two letters, a straight apostrophe and a vowel or "h" ("l'amour", "o'hara", "qa'ida"), which its
# French elision rule splits in two — and ASCII letters with digits ("2025", "covid19", "g7"), split
# at an apostrophe between a digit and a letter ("1990's" is "1990" and "s"; "5'9" is one token)
_PLAIN = re.compile(f"[{_LETTERS}]+(?:'[{_LETTERS}]+)?")
_ELISION = re.compile(r"\w\w?'[aehiouyáéíóúàèìòùâêîôûåïöœ]")
_WITH_DIGITS = re.compile(r"(?=[a-zªº']*[0-9])[a-z0-9ªº]+(?:'[a-z0-9ªº]+)?")  # (ª º: Spanish "10ª", "2º")
_DIGIT_APOSTROPHE = re.compile(r"[0-9]'[a-z]|[a-z]'[0-9]")
_DIGIT_RUN = re.compile(r"[0-9]{2,}")  # what wordfreq replaces by zeros ("2025" → "0000"; not "g7")
_MINIMUM = 1e-9  # zipf_frequency's floor: Zipf 0, once per billion words
SAMPLE = 64  # the table keeps every 64th word in memory, the index of its search
# a run of Han ideographs, hiragana and wordfreq's extra Japanese marks is one token for wordfreq's
# English tokenizer (its rule for scripts written without spaces), without case;
# a run of katakana (not opening with the lengthening mark, which starts a run of the class above):
# one token too, by Unicode's word boundaries (no break between katakana); and a run of ASCII or
# full-width digits (a break on either side of it, none inside). Japanese text splits into these
# runs as wordfreq's tokenizer splits it ("2026年8月20日": 2026, 年, 8, 月, 20, 日)
_JAPANESE_RUNS = re.compile(
    "[\u4e00-\u9fff\u3041-\u3096\u309d-\u309fー々〻〆]+"
    "|[\u30a1-\u30fa\u30fd-\u30ff][\u30a1-\u30fa\u30fc-\u30ff]*"
    "|[0-9\uff10-\uff19]+"
)
_NON_ASCII_CHAR = re.compile(rb"[\xc0-\xff][\x80-\xbf]*")  # one UTF-8 sequence of the words' blob


def _table_path() -> Path:
    return settings.cache_dir() / f"zipf-en-2-wordfreq-{version('wordfreq')}.bin"  # 2: the format


def _entries() -> list[tuple[bytes, int]]:
    """(word, bucket) for every word of wordfreq's English list, sorted by bytes; a word's
    frequency is 10 ** (-bucket / 100), as wordfreq computes it."""
    from wordfreq import get_frequency_list

    buckets: dict[str, int] = {}
    for index, bucket in enumerate(get_frequency_list("en")):
        for word in bucket:
            buckets[word] = index  # a word listed twice keeps its last bucket, as wordfreq's dictionary does
    return sorted((word.encode(), index) for word, index in buckets.items())


def _write(path: Path) -> None:
    """The table, atomically: a half-written file is never read."""
    entries = _entries()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, work = tempfile.mkstemp(prefix=".zipf-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            offsets, at = [], 0
            for word, _ in entries:
                offsets.append(at)
                at += len(word)
            offsets.append(at)
            out.write(MAGIC + struct.pack("<I", len(entries)))
            out.write(struct.pack(f"<{len(offsets)}I", *offsets))
            out.write(struct.pack(f"<{len(entries)}H", *(v for _, v in entries)))
            out.write(b"".join(w for w, _ in entries))
        os.replace(work, path)
    except BaseException:
        Path(work).unlink(missing_ok=True)
        raise


class _Table:
    """The mapped file: ``table[i]`` is the i-th word (bytes), ``values[i]`` its frequency bucket."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            self._read(path)
        except (ValueError, struct.error):
            self._map.close()
            raise ValueError(f"{path}: truncated or not a word-frequency table") from None

    def _read(self, path: Path) -> None:
        """Check the header and the sizes, then view the offsets and values in place."""
        if self._map[: len(MAGIC)] != MAGIC:
            raise ValueError(f"{path}: not a word-frequency table")
        (self.size,) = struct.unpack_from("<I", self._map, len(MAGIC))
        offsets = len(MAGIC) + 4
        values = offsets + 4 * (self.size + 1)
        self._blob = values + 2 * self.size
        if len(self._map) < self._blob or self._blob + struct.unpack_from("<I", self._map, values - 4)[0] != len(
            self._map
        ):
            raise ValueError(f"{path}: truncated")
        view = memoryview(self._map)
        self._offsets = view[offsets:values].cast("I")
        self.values = view[values : self._blob].cast("H")
        # every SAMPLE-th word in memory (~5,000 short strings): a search bisects them first, then
        # reads ~6 words of the file instead of ~19
        self._sample = [self[i] for i in range(0, self.size, SAMPLE)]
        self._letters: frozenset[str] | None = None

    def unlisted_letter(self, key: str) -> bool:
        """The text holds a non-ASCII letter that no listed word holds. wordfreq's English
        tokenizer keeps every letter inside a token, unchanged after its case folding: the token
        that holds it is not listed, so the text's frequency is wordfreq's floor. (The listed words'
        non-ASCII characters, ~1,300, are read from the mapped words once: ~15 ms.)"""
        if self._letters is None:
            found = _NON_ASCII_CHAR.findall(self._map, self._blob)
            self._letters = frozenset(seq.decode("utf-8", "replace") for seq in set(found))
        letters = self._letters
        return any(c not in letters and unicodedata.category(c)[0] == "L" for c in key if not c.isascii())

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> bytes:
        return self._map[self._blob + self._offsets[i] : self._blob + self._offsets[i + 1]]

    def find(self, word: bytes) -> int | None:
        k = bisect_right(self._sample, word)  # the samples at or before the word: it lies after the k-th
        i = bisect_left(self, word, max(0, k - 1) * SAMPLE, min(k * SAMPLE, self.size))
        return self.values[i] if i < self.size and self[i] == word else None


_table: _Table | Literal[False] | None = None  # None: not opened yet; False: unavailable (ask wordfreq)


def _open() -> _Table | None:
    global _table
    if _table is None:
        path = _table_path()
        try:
            if not path.is_file():
                with settings.cache_build_lock("zipf"):  # one process builds it, the others wait for it
                    if not path.is_file():
                        log.info("word frequencies: writing the table to %s", path)
                        _write(path)
            _table = _Table(path)
        except (OSError, ValueError) as exc:
            log.warning("word frequencies: cannot map %s (%s); using wordfreq's own list", path, exc)
            _table = False
    return _table if isinstance(_table, _Table) else None


def _to_zipf(freqs: list[float]) -> float:
    """wordfreq's last steps: the tokens' frequencies combined (1/f = 1/f1 + 1/f2 …), its floor,
    3 significant digits, 2 decimals of Zipf."""
    one_over = 0.0
    for freq in freqs:
        one_over += 1.0 / freq
    freq = max(1.0 / one_over, _MINIMUM)
    freq = round(freq, math.floor(-math.log(freq, 10)) + 3)
    return round(math.log(freq, 10) + 9, 2)


def _from_table(table: _Table, tokens: list[str], smash: Callable[[str], str]) -> float:
    """wordfreq's ``_word_frequency`` for tokens already split, with the table as its list."""
    if not tokens:
        return 0.0  # nothing to look up: wordfreq's floor
    freqs = []
    for token in tokens:
        smashed = smash(token)
        index = table.find(smashed.encode())
        if index is None:
            return 0.0  # a token not listed: wordfreq's floor
        freq = 10 ** (-index / 100)
        if smashed != token:
            freq *= _digit_freq()(token)
        freqs.append(freq)
    return _to_zipf(freqs)


@cache
def _numbers() -> Any:
    """wordfreq's handling of digit runs (``wordfreq.numbers``: ``digit_freq``, ``smash_numbers``),
    its module loaded on its own: imported through its package it brings wordfreq's ``__init__``
    (langcodes, msgpack, the tokenizer: ~0.25 s and ~15 MB in every process that meets a number)
    for a module that needs only ``regex``. Loaded the usual way when wordfreq is imported already
    or the module cannot be loaded alone (another wordfreq version)."""
    if "wordfreq.numbers" not in sys.modules:
        try:
            package = importlib.util.find_spec("wordfreq")  # (finds it: the package is not run)
            folders = list(package.submodule_search_locations or ()) if package else []
            path = Path(folders[0]) / "numbers.py" if folders else None
            spec = importlib.util.spec_from_file_location("storydiff._wordfreq_numbers", path) if path else None
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module
        except Exception as exc:  # any failure: the package's own import below
            log.debug("wordfreq.numbers not loadable alone (%s): importing wordfreq", exc)
    from wordfreq import numbers

    return numbers


def _digit_freq() -> Callable[[str], float]:
    return _numbers().digit_freq


def _zeros(token: str) -> str:
    return _DIGIT_RUN.sub(lambda m: "0" * len(m.group()), token)


def zipf(word: str) -> float:
    """``wordfreq.zipf_frequency(word, "en")``, with the mapped table as wordfreq's list."""
    table = _open()
    if table is None:
        from wordfreq import zipf_frequency

        return float(zipf_frequency(word, "en"))
    # wordfreq's English preprocessing: NFC, case folding, curly apostrophes made straight
    key = word.casefold() if word.isascii() else unicodedata.normalize("NFC", word).casefold()
    split = bool(_ELISION.match(key))  # (before "’" is made straight: wordfreq splits at "'" only)
    key = key.replace("’", "'")
    if _PLAIN.fullmatch(key) or _WITH_DIGITS.fullmatch(key):  # how wordfreq splits these is known here
        split = split or bool(_DIGIT_APOSTROPHE.search(key))
        return _from_table(table, key.split("'") if split else [key], _zeros)
    bare = key[:-1]
    if key.endswith("'") and "'" not in bare and (_PLAIN.fullmatch(bare) or _WITH_DIGITS.fullmatch(bare)):
        return _from_table(table, [bare], _zeros)  # a trailing apostrophe ("obama'", "2020’"): wordfreq drops it
    # other scripts without wordfreq's code where its answer is known: a letter no listed word has
    # (the floor), or runs of Han and hiragana, of katakana and of digits (a token each)
    if table.unlisted_letter(key):
        return 0.0
    runs = _JAPANESE_RUNS.findall(key)
    if runs and sum(map(len, runs)) == len(key):
        return _from_table(table, runs, _numbers().smash_numbers)
    # any other text (other scripts, punctuation inside): wordfreq's own tokenizer (its code, not its list)
    from wordfreq.numbers import smash_numbers
    from wordfreq.tokens import lossy_tokenize

    return _from_table(table, lossy_tokenize(word, "en"), smash_numbers)
