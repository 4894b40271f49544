"""py3langid's language model, mapped into memory from an uncompressed copy.

py3langid ships its model LZMA-compressed. Decompressing it costs every process that identifies
a language ~0.85 s and ~75 MB of private memory (a CLI ingest, each Celery worker, the embedded
service). The first process writes the model's arrays, uncompressed, to the cache folder
(``STORYDIFF_CACHE_DIR``, by default ``$XDG_CACHE_HOME/storydiff``), in a folder named after
py3langid's version and the SHA-256 of its model file; every later process maps them read-only:
ready in ~15 ms, its pages shared by every process on the machine through the page cache (the
operating system can drop and re-read them; they are never copied per process).

It is the same model, the same arrays and py3langid's own ``LanguageIdentifier``, so the answers
are the same. When the folder cannot be written or read back, the compressed model is loaded as
py3langid does it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import lzma
import shutil
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from storydiff import settings

log = logging.getLogger(__name__)

MAPPED = ("ptc", "nextmove")  # the two large arrays (28 MB and 39 MB): mapped, not read
ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


def cache_root() -> Path:
    return settings.cache_dir()


def _model_file() -> Path:
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    return Path(MODEL_DIR) / MODEL_FILE


def _cache_folder(model: Path) -> Path:
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    return cache_root() / f"langid-{version('py3langid')}-{digest}"


def _write(model: Path, folder: Path) -> None:
    """Decompress the model into ``folder``, atomically: a half-written copy is never read."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".langid-", dir=folder.parent))
    try:
        with lzma.open(model) as src, np.load(io.BytesIO(src.read()), allow_pickle=False) as data:
            for name in ARRAYS:
                np.save(work / f"{name}.npy", data[name], allow_pickle=False)
        try:
            work.rename(folder)
        except OSError:
            if not (folder / f"{ARRAYS[-1]}.npy").is_file():  # not another process's finished copy
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _mapped(folder: Path) -> Any:
    from py3langid.langid import LanguageIdentifier

    def load(name: str) -> np.ndarray:
        return np.load(folder / f"{name}.npy", mmap_mode="r" if name in MAPPED else None, allow_pickle=False)

    nextmove = load("nextmove")
    return LanguageIdentifier(
        load("ptc"),
        load("pc"),
        load("classes").tolist(),
        memoryview(nextmove.data),  # indexed per byte of text: a memoryview yields Python ints, like array
        load("out_feat").tolist(),
        norm_probs=True,
        tk_row=load("nextmove_row").tolist(),
    )


def load_identifier() -> Any:
    """py3langid's identifier (probabilities normalised), from the mapped copy when possible."""
    try:
        model = _model_file()
        folder = _cache_folder(model)
        if not (folder / f"{ARRAYS[-1]}.npy").is_file():
            _write(model, folder)
        return _mapped(folder)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.info("language model: mapped copy unavailable (%s); loading the compressed model", exc)
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
