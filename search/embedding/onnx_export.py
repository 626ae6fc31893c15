"""Turn a sentence-transformers BERT-style model into an int8 ONNX file, once, cached on disk.

sentence-transformers' own `backend="onnx"` needs optimum, which pins transformers 4.x; exporting with
`torch.onnx.export(dynamo=False)` and quantising with onnxruntime works with the versions installed here.
Quantisation is per channel: per tensor drops cosine to the torch vectors to about 0.93, per channel
keeps it at 0.98 or more. The file is keyed by the weights' hash, so a new model version re-exports.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

EXPORT_OPSET = 17


def cache_root() -> Path:
    return Path(os.environ.get("STORY_SEARCH_CACHE") or Path.home() / ".cache" / "story-search") / "onnx"


def _weights_hash(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def int8_model(model_dir: Path) -> Path:
    """The int8 ONNX file for the transformer in `model_dir`, exported on first use."""
    target = cache_root() / f"{_weights_hash(model_dir)}-int8.onnx"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / "model-int8.onnx"
            _export(model_dir, fp32)
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8)
            int8.replace(target)  # atomic: a concurrent first use sees the whole file or none
    return target


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
