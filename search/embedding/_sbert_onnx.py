"""A sentence-transformers BERT/MPNet model (all-MiniLM-L6-v2, all-mpnet-base-v2) as a per-token int8 ONNX
encoder: the torch pipeline's vectors (cosine about 0.99 or more), faster, and the same for a text alone or
among others.

Converted once per weights file and converter version into `$STORY_SEARCH_CACHE/sbert-onnx/<sha256[:16]>-v<N>`
(`model_cache.py`: checksummed, rebuilt when damaged). Runs with the folder's own `tokenizer.json` and does
what its sentence-transformers pipeline does: texts cut at the model's `max_seq_length` tokens, the mean over
tokens, then (in `Embedder.embed`) L2 normalisation. No "query:"/"passage:" prefixes: these models have none.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .._files import sha256
from . import _model_cache
from ._base import Embedder, Kind

CONVERTER_VERSION = 1  # bump when the graph, the quantisation or the files change
ENCODER = "encoder-int8.onnx"


def converted(model_dir: Path) -> Path:
    """The verified int8 encoder for the model in `model_dir`, converted on first use."""
    digest = sha256(model_dir / "model.safetensors")
    folder = _model_cache.cache_root() / "sbert-onnx" / f"{digest[:16]}-v{CONVERTER_VERSION}"
    _model_cache.ensure(folder, lambda tmp: _convert(model_dir, tmp), (ENCODER,))
    return folder / ENCODER


def _convert(model_dir: Path, folder: Path) -> dict:
    import onnx

    from ._sbert_graph import build_sbert_graph

    started = time.perf_counter()
    config = build_sbert_graph(model_dir, folder / ENCODER)
    return {"source": str(model_dir), "converter_version": CONVERTER_VERSION, "model_type": config["model_type"],
            "onnx": onnx.__version__, "convert_seconds": round(time.perf_counter() - started, 1),
            "quantisation": "int8 per token (activations) and per output column (weights)"}


class SbertOnnxEmbedder(Embedder):
    concurrent = True  # an onnxruntime session may run several batches at once

    def __init__(self, model_dir: str | Path, model_id: str, threads: int | None = None) -> None:
        super().__init__()
        from tokenizers import Tokenizer

        from ._batch_runner import BatchRunner
        from ._onnx_graph import open_session

        folder = Path(model_dir)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        settings = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self._tokenizer.enable_truncation(max_length=int(settings["max_seq_length"]))
        self.model_id = model_id
        self.dim = int(json.loads((folder / "config.json").read_text(encoding="utf-8"))["hidden_size"])
        self._runner = BatchRunner(open_session(converted(folder)), self.dim, threads)
        self.threads = self._runner.threads

    def token_counts(self, texts: list[str], kind: Kind = "document") -> list[int]:
        """Tokens each text costs, special tokens included, after the model's cut."""
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts)]

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        rows = [np.asarray(e.ids, dtype=np.int64) for e in self._tokenizer.encode_batch(texts)]
        return self._runner.run(rows, lambda batch: {"input_ids": np.stack(batch)})
