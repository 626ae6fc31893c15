"""Turn a sentence-transformers BERT-style model into an int8 ONNX file, once, cached on disk.

sentence-transformers' own `backend="onnx"` needs optimum, which pins transformers 4.x; exporting with
`torch.onnx.export(dynamo=False)` and quantising with onnxruntime works with the versions installed here.
Quantisation is per channel: per tensor drops cosine to the torch vectors to about 0.93, per channel
keeps it close to the torch vectors. The file is keyed by the weights' hash, so a new model version re-exports.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from . import model_cache

EXPORT_OPSET = 17
CONVERTER_VERSION = 1  # bump when the export or the quantisation changes
INT8 = "model-int8.onnx"


def _weights_hash(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def int8_model(model_dir: Path) -> Path:
    """The int8 ONNX file for the transformer in `model_dir`, exported on first use into the model cache."""
    folder = model_cache.cache_root() / "onnx" / f"{_weights_hash(model_dir)}-v{CONVERTER_VERSION}"
    model_cache.ensure(folder, lambda tmp: _convert(model_dir, tmp), (INT8,))
    return folder / INT8


def _convert(model_dir: Path, folder: Path) -> dict:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = folder / "model-fp32.onnx.part"
    _export(model_dir, fp32)
    quantize_dynamic(str(fp32), str(folder / INT8), per_channel=True, weight_type=QuantType.QInt8)
    fp32.unlink()
    return {"source": str(model_dir), "converter_version": CONVERTER_VERSION}


def _export(model_dir: Path, path: Path) -> None:
    import torch
    from transformers import AutoModel

    class Encoder(torch.nn.Module):
        """Takes (input_ids, attention_mask) by position: three positional tensors fail under transformers 5."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(Encoder(model), (ids, torch.ones_like(ids)), str(path), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
                          opset_version=EXPORT_OPSET)
