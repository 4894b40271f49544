"""Near-duplicate (wire copy) detection with MinHash LSH (pure, numpy only).

Each article body gets a MinHash signature over word 3-shingles. The signature is cut into
BANDS bands of ROWS values; articles sharing any band bucket are candidates, and candidates
whose estimated Jaccard similarity reaches the threshold are copies of one another.
With 16 bands × 4 rows, pairs at Jaccard 0.8 become candidates with probability > 0.999.

The signature is datasketch's MinHash (2.x, scheme "affine32", num_perm=64, seed=7) computed
here in a few numpy lines, bit for bit (``tests/test_writer.py`` compares them): importing
datasketch pulls in scipy and redis, ~80 MB and ~0.6 s in every parse worker and CLI start.
A parse worker only hashes the shingles (``ingest/shingles.py``, plain Python); the storing
process turns them into the signature (``signature_of``, from ``parsepool.signed``), so no parse worker loads numpy.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from storydiff.ingest import shingles
from storydiff.ingest.shingles import MIN_SHINGLES

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS


SEED = 7
# datasketch's affine32 permutations h -> a·h + b mod 2^32 (a odd), drawn as datasketch draws them
_GEN = np.random.RandomState(SEED)
_A = _GEN.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
_B = _GEN.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
del _GEN


def shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the distinct word 3-shingles (``ingest/shingles.py``), as an array."""
    return np.frombuffer(shingles.shingle_hashes(text), dtype=np.uint32)


def signature(text: str) -> np.ndarray | None:
    """MinHash signature of the text, or None when it has too few shingles."""
    return signature_of(shingles.shingle_hashes(text))


def signature_of(packed: bytes) -> np.ndarray | None:
    """MinHash signature from the packed shingle hashes a parse worker sent (``shingles``)."""
    hashes = np.frombuffer(packed, dtype=np.uint32)
    if len(hashes) < MIN_SHINGLES:
        return None
    hv = _fmix32(hashes).reshape(-1, 1)
    return (hv * _A + _B).min(axis=0).astype(np.uint64)  # uint32 arithmetic wraps: mod 2^32


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch's pre-mix of every input hash)."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


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


def minhash_bytes(packed: bytes) -> bytes | None:
    """The stored signature of an item from its packed shingle hashes (None: too short to sign)."""
    sig = signature_of(packed)
    return to_bytes(sig) if sig is not None else None
