"""Saved FAISS indexes opened with their vectors (or codes) and graphs memory-mapped, read-only.

A mapped index is shared by every process serving the collection, through the page cache, and opening it
reads only its small parts (the trained quantiser, the list sizes). It must never be written: FAISS would
write into the read-only mapping and crash the process. So an engine that holds one reads an owned copy of
the file before it changes anything (`read_owned`); an update to the collection is applied to a copy anyway
(`VectorStore.copy`), while searches go on against the mapped original.
"""
from __future__ import annotations

from pathlib import Path

import faiss


def read_mapped(file: Path) -> faiss.Index:
    return faiss.read_index(str(file), faiss.IO_FLAG_MMAP_IFC)


def read_owned(file: Path) -> faiss.Index:
    return faiss.read_index(str(file))
