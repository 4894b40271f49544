"""py3langid's language model, mapped into memory from an uncompressed copy.

py3langid ships its model LZMA-compressed. Decompressing it costs every process that identifies
a language ~0.85 s and ~75 MB of private memory (a CLI ingest, each Celery worker, the embedded
service). The first process writes the model's arrays, uncompressed, to the cache folder
(``STORYDIFF_CACHE_DIR``, by default ``$XDG_CACHE_HOME/storydiff``), in a folder named after
py3langid's version and the SHA-256 of its model file; every later process maps them read-only:
ready in ~15 ms, its pages shared by every process on the machine through the page cache (the
operating system can drop and re-read them; they are never copied per process).

The copy is laid out for locality. A text touches only a few thousand of the model's 38,346
transition rows and 100,053 feature rows, but in py3langid's order those are spread over the whole
67 MB, and a page fault maps a 64 KB window around the row it needs (a whole large folio when the
file went into the page cache in one big write). The copy renumbers rows and features (a
permutation: the automaton, the features and every score are unchanged) so that those of shorter
n-grams come first, is written a page at a time and is read with MADV_RANDOM; the small per-state
tables are arrays read through memoryviews (which yield Python ints, like py3langid's lists) instead
of three lists of 104,583 ints (~11 MB). Identifying the 6,000 leads of ``benchmarks/peers.py``'s
feeds (English, Japanese, Italian, German, …) grew a process by ≈ 70 MB with py3langid's layout and
lists, ≈ 48 MB with this one (grouping rows by script or ordering them by likelihood did no better).

It is the same model, the same arrays and py3langid's own ``LanguageIdentifier``, so the answers
are the same. When the folder cannot be written or read back, the compressed model is loaded as
py3langid does it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import lzma
import mmap
import shutil
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from storydiff import settings

log = logging.getLogger(__name__)

MAPPED = ("ptc", "nextmove")  # the two large arrays (28 MB and 39 MB): mapped, not read
ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat", "rowbase")
LAYOUT = "l2"  # the on-disk layout (renumbered for locality); part of the folder's name
UNSEEN = 255
WRITE_SIZE = 4096  # bytes per write of the copy: page-sized folios in the page cache
ROWS_AT_ONCE = 4096  # rows of a renumbered array gathered per write batch (a multiple of WRITE_SIZE in bytes)
BFS_CHUNK = 2048  # states expanded at once while ordering (2048 x 256 transitions: 2 MB)


def cache_root() -> Path:
    return settings.cache_dir()


def _model_file() -> Path:
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    return Path(MODEL_DIR) / MODEL_FILE


def _cache_folder(model: Path) -> Path:
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    return cache_root() / f"langid-{version('py3langid')}-{digest}-{LAYOUT}"


def _depths(table: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Every state's n-gram length. The automaton is a trie with shortcuts: a breadth-first walk
    from the start state reaches each state first by its own n-gram, so at its length."""
    depth = np.full(len(row), UNSEEN, np.uint8)
    depth[0] = 0
    frontier, level = np.zeros(1, np.int64), 0
    while frontier.size:
        level += 1
        found = []
        for start in range(0, frontier.size, BFS_CHUNK):
            chunk = frontier[start : start + BFS_CHUNK]
            moves = table[row[chunk]]  # chunk x 256: the state each byte leads to
            targets = np.unique(moves[depth[moves] == UNSEEN])
            depth[targets] = level
            found.append(targets)
        frontier = np.concatenate(found)
    return depth


def _order(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values in the order they first appear, then those that never do; and the
    inverse (old number -> new number)."""
    unique, first = np.unique(values, return_index=True)
    order = np.concatenate([unique[np.argsort(first, kind="stable")], np.setdiff1d(np.arange(size), unique)])
    inverse = np.empty(size, np.int64)
    inverse[order] = np.arange(size)
    return order, inverse


def _write_local_layout(stored: Any, work: Path) -> None:
    """The model with transition rows and features renumbered for locality (see the module's
    docstring), written to ``work``: the rows and features of shorter n-grams first. Short n-grams
    are the ones every text of a script passes through; ordered so, a text's rows and features fill
    fewer pages than in the stored order (measured against grouping by script and by likelihood: no
    better). One large array is in memory at a time and the renumbered ones are written as they are
    gathered, a few thousand rows at once: building the copy takes ~100 MB, not ~250 MB (the whole
    decompressed file, every array and its renumbered copy)."""
    row = stored["nextmove_row"]
    out = stored["out_feat"]
    table = stored["nextmove"].reshape(-1, 256)
    states = np.argsort(_depths(table, row.astype(np.int64)), kind="stable")  # by n-gram length, then number
    rows, new_row = _order(row.astype(np.int64)[states], len(table))
    _save_rows(work / "nextmove.npy", table, rows, (table.size,))
    del table
    ptc = stored["ptc"]
    has = out[states] >= 0
    features, new_feature = _order(out[states][has], len(ptc))
    _save_rows(work / "ptc.npy", ptc, features, ptc.shape)
    del ptc
    state_row = new_row[row.astype(np.int64)].astype(np.uint32)
    _save(work / "pc.npy", stored["pc"])
    _save(work / "classes.npy", stored["classes"])
    _save(work / "nextmove_row.npy", state_row.astype(row.dtype))
    _save(work / "out_feat.npy", np.where(out >= 0, new_feature[np.maximum(out, 0)], -1).astype(out.dtype))
    _save(work / "rowbase.npy", state_row << np.uint32(8))


def _write(model: Path, folder: Path) -> None:
    """Decompress the model into ``folder``, atomically: a half-written copy is never read. The
    compressed file is decompressed to disk first (not into memory), its arrays read one by one."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".langid-", dir=folder.parent))
    try:
        packed = work / "model.npz"
        with lzma.open(model) as src, packed.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        with np.load(packed, allow_pickle=False) as stored:
            _write_local_layout(stored, work)
        packed.unlink()
        try:
            work.rename(folder)
        except OSError:
            if not _complete(folder):  # not another process's finished copy
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _complete(folder: Path) -> bool:
    return (folder / f"{ARRAYS[-1]}.npy").is_file()  # the last array written


def _write_pages(f: Any, array: np.ndarray) -> None:
    """An array's bytes, page-sized writes: one write of 39 MB leaves it in the page cache as large
    folios, and a fault then maps a whole folio (hundreds of KB) for the one row it needs."""
    raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    for start in range(0, len(raw), WRITE_SIZE):
        f.write(raw[start : start + WRITE_SIZE])


def _save(path: Path, array: np.ndarray) -> None:
    """``np.save`` in page-sized writes."""
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, np.lib.format.header_data_from_array_1_0(array))
        _write_pages(f, array)


def _save_rows(path: Path, source: np.ndarray, order: np.ndarray, shape: tuple[int, ...]) -> None:
    """``np.save(path, source[order].reshape(shape))`` without that copy in memory: the rows are
    gathered ROWS_AT_ONCE at a time (their bytes a whole number of pages, so the writes are the
    same page-sized writes as ``_save``'s)."""
    header = {"descr": np.lib.format.dtype_to_descr(source.dtype), "fortran_order": False, "shape": shape}
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for start in range(0, len(order), ROWS_AT_ONCE):
            _write_pages(f, source[order[start : start + ROWS_AT_ONCE]])


def _map(path: Path) -> np.ndarray:
    """A read-only array over the file's pages, read at random (no read-ahead around a fault)."""
    with path.open("rb") as f:
        np.lib.format.read_magic(f)
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        offset = f.tell()
        pages = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if fortran or dtype.hasobject:
        raise ValueError(f"{path.name}: not a plain C-ordered array")
    with contextlib.suppress(AttributeError, OSError):  # madvise: Python 3.8+, Unix
        pages.madvise(mmap.MADV_RANDOM)
    return np.frombuffer(pages, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape)


def _mapped(folder: Path) -> Any:
    from py3langid.langid import LanguageIdentifier

    def load(name: str) -> np.ndarray:
        if name in MAPPED:
            return _map(folder / f"{name}.npy")
        return np.load(folder / f"{name}.npy", allow_pickle=False)

    nextmove = load("nextmove")
    precomputed = "_rowbase" in getattr(LanguageIdentifier, "__slots__", ())
    identifier = LanguageIdentifier(
        load("ptc"),
        load("pc"),
        load("classes").tolist(),
        memoryview(nextmove.data),  # indexed per byte of text: a memoryview yields Python ints, like array
        memoryview(load("out_feat").data),
        norm_probs=True,
        tk_row=() if precomputed else load("nextmove_row").tolist(),
    )
    if precomputed:  # the row offsets (row << 8) py3langid would build as a list, stored
        identifier._rowbase = memoryview(load("rowbase").data)
    return identifier


def load_identifier() -> Any:
    """py3langid's identifier (probabilities normalised), from the mapped copy when possible."""
    try:
        model = _model_file()
        folder = _cache_folder(model)
        if not _complete(folder):
            with settings.cache_build_lock("langid"):  # one process builds it, the others wait for it
                if not _complete(folder):
                    log.info("language model: writing its uncompressed copy to %s", folder)
                    _write(model, folder)
        return _mapped(folder)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.info("language model: mapped copy unavailable (%s); loading the compressed model", exc)
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
