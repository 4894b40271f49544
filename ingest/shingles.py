"""Word 3-shingle hashes of a text, in plain Python: the part of a MinHash signature that a parse
worker computes. ``ingest/neardup.py`` turns them into the signature (numpy) in the storing process,
so the parse workers never load numpy (~15 MB of memory each). Pure: no I/O."""

from __future__ import annotations

import re
import zlib
from array import array

MIN_SHINGLES = 8  # shorter texts are too small to call copies
_WORD = re.compile(r"\w+", re.UNICODE)
_P1, _P2 = 0x9E3779B1, 0x85EBCA77  # odd multipliers mixing 3 word hashes
_MASK = 0xFFFFFFFF
_UINT32 = "I" if array("I").itemsize == 4 else "L"


def shingle_hashes(text: str) -> bytes:
    """32-bit hashes of the distinct word 3-shingles, sorted, packed as native unsigned 32-bit
    integers: each word is hashed once (crc32) and three consecutive word hashes are combined
    arithmetically (mod 2^32, as ``neardup`` has always combined them)."""
    words = _WORD.findall(text.lower())
    if len(words) < 3:
        return b""
    wh = [zlib.crc32(w.encode()) for w in words]
    combined = {(a * _P1 + b * _P2 + c) & _MASK for a, b, c in zip(wh, wh[1:], wh[2:], strict=False)}
    return array(_UINT32, sorted(combined)).tobytes()
