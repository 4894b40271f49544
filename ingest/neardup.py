"""Near-duplicate (wire copy) detection with MinHash LSH from datasketch (pure).

Each article body gets a MinHash signature over word 3-shingles. The signature is cut into
BANDS bands of ROWS values; articles sharing any band bucket are candidates, and candidates
whose estimated Jaccard similarity reaches the threshold are copies of one another.
With 16 bands × 4 rows, pairs at Jaccard 0.8 become candidates with probability > 0.999.
"""

from __future__ import annotations

import re
import struct
import zlib

import numpy as np
from datasketch import MinHash

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
MIN_SHINGLES = 8  # shorter texts are too small to call copies
_WORD = re.compile(r"\w+", re.UNICODE)


_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=7)
_PERMUTATIONS, _SCHEME = _TEMPLATE.permutations, _TEMPLATE.scheme  # drawn once, reused
_P1, _P2 = np.uint64(0x9E3779B1), np.uint64(0x85EBCA77)  # odd multipliers mixing 3 word hashes


def shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the distinct word 3-shingles: each word is hashed once (crc32) and
    three consecutive word hashes are combined arithmetically, vectorised with numpy."""
    words = _WORD.findall(text.lower())
    if len(words) < 3:
        return np.empty(0, dtype=np.uint64)
    wh = np.fromiter((zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    combined = (wh[:-2] * _P1 + wh[1:-1] * _P2 + wh[2:]) & np.uint64(0xFFFFFFFF)
    return np.unique(combined)


def signature(text: str) -> np.ndarray | None:
    """MinHash signature of the text, or None when it has too few shingles."""
    hashes = shingle_hashes(text)
    if len(hashes) < MIN_SHINGLES:
        return None
    mh = MinHash(num_perm=NUM_PERM, hashfunc=int, permutations=_PERMUTATIONS, scheme=_SCHEME)
    mh.update_batch(hashes.tolist())  # values are already hashed: hashfunc=int passes them through
    return mh.hashvalues.astype(np.uint64)


def band_buckets(sig: np.ndarray) -> list[int]:
    """One signed 63-bit bucket id per band (fits a BIGINT column)."""
    rows = sig.reshape(BANDS, ROWS)
    return [zlib.crc32(row.tobytes()) | (band << 32) for band, row in enumerate(rows)]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def to_bytes(sig: np.ndarray) -> bytes:
    return struct.pack(f"<{NUM_PERM}Q", *sig.tolist())


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)
