"""The optional embedding backend: hash-checked loading, and what happens without the extra."""

from __future__ import annotations

import numpy as np
import pytest

from storydiff.compare import embed


def test_it_refuses_a_file_whose_hash_differs(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not the pinned model")
    with pytest.raises(embed.EmbeddingUnavailable, match="refusing to load"):
        embed._checked(model, embed.MODEL_SHA256)


def test_the_setting_is_on_off_or_auto():
    assert embed.enabled("off") is False
    assert embed.enabled("auto") is embed.available()
    with pytest.raises(embed.EmbeddingUnavailable, match="use on, off or auto"):
        embed.enabled("sometimes")


def test_it_embeds_when_installed_and_says_how_to_install_when_not():
    if not embed.available():
        with pytest.raises(embed.EmbeddingUnavailable, match=r"storydiff\[semantic\]|missing"):
            embed.enabled("on")
        return
    vectors = embed.embed(
        ["The mayor signed the harbour budget.", "The harbour budget was signed by the mayor.", "Rain fell on Tuesday."]
    )
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
