"""A segment's arrays on disk (vectors, vector keys, postings, metadata columns ...): `.npy` files, opened
memory-mapped and read-only.

Segments are written once and never changed, so their arrays can be mapped rather than read: every process
serving an index shares one copy through the page cache, a process starts without reading them, and only the
pages a search touches are ever loaded. Anything a segment keeps as an array goes through `save_array` and
`mapped`, whatever its name (a second vector array, per-window vectors ...), so none is special.
"""
from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np


def save_array(folder: Path, name: str, array: np.ndarray) -> str:
    """Write `array` as `folder/name.npy` (never pickled); returns the file's name."""
    file = f"{name}.npy"
    np.save(folder / file, np.ascontiguousarray(array), allow_pickle=False)
    return file


def mapped(path: Path, scattered: bool = False) -> np.ndarray:
    """The array saved at `path`, memory-mapped read-only; an array of objects (a pickle) is a ValueError.

    Returned as a plain ndarray viewing the mapping: slicing numpy's `memmap` subclass runs Python code for
    every slice taken, which a search takes thousands of. `scattered`: the array is read a row here and a row
    there (a search rescoring its candidates' vectors), so the kernel is told not to read ahead around each
    row it fetches, which would load many times the rows wanted and crowd the page cache."""
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if scattered and hasattr(mmap, "MADV_RANDOM"):
        array._mmap.madvise(mmap.MADV_RANDOM)
    return np.asarray(array)
