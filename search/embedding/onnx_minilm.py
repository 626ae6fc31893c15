"""MiniLM (any BERT-style sentence-transformers model) as int8 ONNX: the same vectors, faster than torch.

Runs with onnxruntime and the model's own `tokenizer.json` (tokenizers), then does what the
sentence-transformers pipeline does: mean pooling over real tokens and L2 normalisation. Texts are
sorted by length inside a call so each batch pads to similar lengths.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .base import Embedder, Kind
from .onnx_export import int8_model

BATCH = 32


class OnnxEmbedder(Embedder):
    def __init__(self, model_dir: str, model_id: str, threads: int | None = None) -> None:
        super().__init__()
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or int(os.environ.get("STORY_SEARCH_ONNX_THREADS", 0))  # 0: all cores
        self._session = ort.InferenceSession(str(int8_model(folder)), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        max_tokens = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding()
        self.model_id = model_id
        self.dim = int(json.loads((folder / "config.json").read_text())["hidden_size"])

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), BATCH):
            rows = order[start:start + BATCH]
            encoded = self._tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            weights = mask[:, :, None].astype(np.float32)
            out[rows] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return out
