"""A stand-in model that knows words, not meaning: signed feature hashing of a text's lower-cased words.

For tests and benchmarks whose subject is the index rather than the model (no weights to load, microseconds
a text, the same vectors on every machine), and for trying the tools where no model is installed. Signed
hashing (Weinberger et al., 2009) makes the inner product of two vectors an unbiased estimate of their
word overlap, so texts sharing words still come out close.
"""
from __future__ import annotations

import re
import zlib

import numpy as np

from ._base import Embedder, Kind

MODEL_ID = "hashing-384"
_WORD = re.compile(r"\w+")


class HashingEmbedder(Embedder):
    def __init__(self) -> None:
        super().__init__()
        self.model_id, self.dim = MODEL_ID, 384

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.casefold()):
                h = zlib.crc32(word.encode("utf-8"))
                out[row, h % self.dim] += 1.0 if h & 0x80000000 else -1.0
        return out
