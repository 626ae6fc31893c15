"""Two models side by side: names, vectors whose every part is a cosine, and the default chosen by corpus size."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from search.embedding import DEFAULT_MODEL, MPNET, PAIRED_UP_TO, canonical_model_id, default_model, load_embedder, split
from search.embedding._e5_onnx import MODEL_ID as E5
from search.embedding._paired import SEPARATOR
from search.errors import ModelError


def test_a_pair_is_named_by_its_models_canonical_names():
    assert canonical_model_id("e5+mpnet") == f"{E5}{SEPARATOR}{MPNET}"
    assert canonical_model_id(" E5 + all-mpnet-base-v2 ") == f"{E5}{SEPARATOR}{MPNET}"
    with pytest.raises(ModelError, match="a pair is two names"):
        canonical_model_id("e5+mpnet+minilm")


def test_each_model_s_part_of_a_vector_is_a_unit_vector_and_the_english_one_matches_it_alone():
    pair, english = load_embedder("e5+mpnet"), load_embedder("mpnet")
    texts = ["asylum seekers at the southern border", "¿cuántos migrantes cruzaron el Darién?"]
    vectors = pair.embed(texts, kind="query")
    assert pair.dims == (384, 768) and vectors.shape == (2, sum(pair.dims))
    for part in split(vectors, pair.dims):
        assert np.allclose(np.linalg.norm(part, axis=1), 1.0, atol=1e-5)
    assert np.allclose(split(vectors, pair.dims)[1], english.embed(texts, kind="query"), atol=1e-6)


def test_small_corpora_get_the_pair_large_ones_e5_alone():
    assert default_model(1_000) == f"{DEFAULT_MODEL}{SEPARATOR}mpnet"
    assert default_model(PAIRED_UP_TO + 1) == DEFAULT_MODEL


def test_without_the_english_model_the_default_is_e5_and_says_how_to_fetch_it(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    monkeypatch.setattr("search.embedding._fetch.fetched", lambda model: None)
    with caplog.at_level(logging.WARNING):
        assert default_model(1_000) == DEFAULT_MODEL
    assert "python -m search.embedding fetch mpnet" in caplog.text
