"""A sentence-transformers BERT or MPNet model (all-MiniLM-L6-v2, all-mpnet-base-v2) as an ONNX graph with
per-token int8 products (`onnx_graph.py`), read from its folder's `config.json` and `model.safetensors`.

The graph takes `input_ids` [batch, tokens] of texts that are never padded and returns the mean of the last
hidden states, which is what the models' sentence-transformers pipeline computes before normalising. The
word table stays in the graph as float16 (half the bytes of float32; its rounding is far below int8's).
MPNet differs from BERT in three places handled here: no token-type embedding, positions numbered from
padding id + 1, and a relative-position bias (T5's buckets) added to every layer's attention scores.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ._onnx_graph import EncoderGraph

_BERT = {"q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
         "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
         "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
         "o.w": "attention.output.dense.weight", "o.b": "attention.output.dense.bias",
         "attention_norm.w": "attention.output.LayerNorm.weight", "attention_norm.b": "attention.output.LayerNorm.bias"}
_MPNET = {f"{p}.{k}": f"attention.attn.{p}.{'weight' if k == 'w' else 'bias'}" for p in "qkvo" for k in "wb"} | {
    "attention_norm.w": "attention.LayerNorm.weight", "attention_norm.b": "attention.LayerNorm.bias"}
_FFN = {"up.w": "intermediate.dense.weight", "up.b": "intermediate.dense.bias",
        "down.w": "output.dense.weight", "down.b": "output.dense.bias",
        "output_norm.w": "output.LayerNorm.weight", "output_norm.b": "output.LayerNorm.bias"}


def build_sbert_graph(model_dir: Path, path: Path) -> dict:
    """Write the graph for the transformer in `model_dir`; returns its config.json."""
    from onnx import TensorProto
    from safetensors.numpy import load_file

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    tensors = load_file(str(model_dir / "model.safetensors"))
    prefix = next((p for p in ("", "bert.", "mpnet.") if f"{p}embeddings.word_embeddings.weight" in tensors), None)
    if prefix is None or config.get("model_type") not in ("bert", "mpnet"):
        raise ValueError(f"{model_dir}: not a BERT or MPNet sentence-transformers model")
    mpnet = config["model_type"] == "mpnet"

    def tensor(name: str) -> np.ndarray:
        return tensors[prefix + name].astype(np.float32)

    graph = EncoderGraph(config["num_attention_heads"], config["layer_norm_eps"])
    words = graph.op("Gather", [graph.constant("words", tensor("embeddings.word_embeddings.weight").astype(np.float16)),
                                "input_ids"], "word_vectors")
    x = graph.op("Cast", [words], "word_vectors_f32", to=TensorProto.FLOAT)
    tokens = graph.op("Slice", [graph.op("Shape", ["input_ids"], "input_shape"), graph.constant("one", np.array([1])),
                                graph.constant("two", np.array([2]))], "tokens")
    first = config["pad_token_id"] + 1 if mpnet else 0  # MPNet numbers positions as RoBERTa does
    positions = graph.constant("positions", tensor("embeddings.position_embeddings.weight")[first:])
    x = graph.op("Add", [x, graph.op("Slice", [positions, graph.constant("zero", np.array([0])), tokens], "used")],
                 "with_positions")
    if not mpnet:
        x = graph.op("Add", [x, graph.constant("token_type", tensor("embeddings.token_type_embeddings.weight")[0])],
                     "embedded")
    x = graph.norm(x, tensor("embeddings.LayerNorm.weight"), tensor("embeddings.LayerNorm.bias"), "embedding_norm")
    bias = _relative_bias(graph, tensor("encoder.relative_attention_bias.weight"), tokens,
                          config["max_position_embeddings"]) if mpnet else None
    names = (_MPNET if mpnet else _BERT) | _FFN
    for i in range(config["num_hidden_layers"]):
        def weights(key: str, i: int = i) -> np.ndarray:
            return tensor(f"encoder.layer.{i}.{names[key]}")

        x = graph.layer(x, weights, f"layer{i}", bias)
    graph.mean_pool(x)
    graph.save(path, [("input_ids", TensorProto.INT64, ["batch", "tokens"])], config["hidden_size"])
    return config


def _relative_bias(graph: EncoderGraph, table: np.ndarray, tokens: str, max_positions: int) -> str:
    """MPNet's attention bias [1, heads, T, T]: the learned value of each query-key offset's bucket, looked up
    once for the longest text and sliced to T."""
    offsets = np.arange(max_positions)[None, :] - np.arange(max_positions)[:, None]
    values = table[_bucket(offsets, len(table))]  # [T, T, heads]
    full = graph.constant("relative_bias", np.ascontiguousarray(values.transpose(2, 0, 1)[None]))
    zeros = graph.constant("zeros2", np.array([0, 0]))
    ends = graph.op("Concat", [tokens, tokens], "bias_ends", axis=0)
    return graph.op("Slice", [full, zeros, ends, graph.constant("bias_axes", np.array([2, 3]))], "attention_bias")


def _bucket(offset: np.ndarray, buckets: int, max_distance: int = 128) -> np.ndarray:
    """transformers' MPNet `relative_position_bucket`: half the buckets per direction, exact up to a quarter,
    then logarithmic up to `max_distance`."""
    half = buckets // 2
    n = -offset
    out = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    ratio = (np.maximum(n, 1) / exact).astype(np.float32)  # float32 as torch computes it: same truncation
    scaled = np.log(ratio) / np.float32(math.log(max_distance / exact)) * np.float32(half - exact)
    large = exact + scaled.astype(np.int64)
    return out + np.where(n < exact, n, np.minimum(large, half - 1))
