"""Build a post-LayerNorm transformer encoder (BERT, XLM-R, MPNet) directly as an ONNX graph with int8 products.

Every matrix product with a constant weight is int8, quantised per token: each row of the activation gets its
own scale (its largest absolute value / 127), the weight one scale per output column. A row's result then
depends on that row alone, so a text gets the same vector alone, in a batch, or beside texts of any length;
per-tensor scales (onnxruntime's `quantize_dynamic`) make a text's vector depend on its neighbours, and
static scales calibrated once lose too much to the few huge activations these models put on the first token
in one or two channels. Per-token scales keep each vector closest to the float model's.

The int8 row is stored as uint8 around zero point 128: onnxruntime's u8s8 kernels use AMX/VNNI, its s8s8
path is many times slower. The graph takes no attention mask: callers run texts of one length per
batch (`same_length_batches`), so nothing is ever padded and attention runs onnxruntime's unmasked (flash)
kernel, faster than the masked one. Residual + LayerNorm are left as Add + LayerNormalization:
onnxruntime's fused SkipLayerNormalization kernel is the slower one on these CPUs, so sessions turn that fusion
off (`open_session`).

Built by hand rather than exported from torch: the exporter's attention pattern is not fused by onnxruntime,
and building needs only numpy and onnx, in a second or two.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

OPSET = 21  # QuantizeLinear with block_size: one scale per row
_ZERO_POINT = 128
# Turned off in every session: its fused kernel is slower than the Add + LayerNormalization it replaces.
DISABLED_FUSIONS = ["SkipLayerNormFusion"]


class EncoderGraph:
    """Accumulates nodes and weights; `save` writes one ONNX file with input `input_name` and output `pooled`."""

    def __init__(self, heads: int, eps: float) -> None:
        from onnx import TensorProto

        self.heads, self.eps = heads, eps
        self._tensor = TensorProto
        self._nodes: list = []
        self._weights: list = []
        self._row_zero_point: str | None = None
        self._count = 0
        self.constant("inv127", np.array(1 / 127, np.float32))
        self.constant("zero_point", np.array(_ZERO_POINT, np.uint8))
        self.constant("last_axis", np.array([-1], np.int64))
        self.constant("token_axis", np.array([1], np.int64))

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self._weights.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str | None = None, domain: str = "", **attributes) -> str:
        from onnx import helper

        self._count += 1
        out = name or f"{op_type.lower()}_{self._count}"
        self._nodes.append(helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attributes))
        return out

    def linear(self, x: str, weight: np.ndarray, name: str, bias: np.ndarray | None = None) -> str:
        """x @ weight (+ bias) with `weight` [in, out] float32, as a per-token int8 product."""
        column_scale = np.maximum(np.abs(weight).max(axis=0), 1e-12) / 127
        quantised = np.clip(np.round(weight / column_scale), -127, 127).astype(np.int8)
        row_max = self.op("ReduceMax", [self.op("Abs", [x], f"{name}.abs"), "last_axis"], f"{name}.max", keepdims=1)
        row_scale = self.op("Mul", [row_max, "inv127"], f"{name}.scale")
        if self._row_zero_point is None:  # every product's row scales have one shape: [batch, tokens, 1]
            shape = self.op("Shape", [row_scale], "row_shape")
            self._row_zero_point = self.op("Expand", ["zero_point", shape], "row_zero_point")
        rows = self.op("QuantizeLinear", [x, row_scale, self._row_zero_point], f"{name}.q", axis=-1,
                       block_size=weight.shape[0])
        product = self.op("MatMulIntegerToFloat", [
            rows, self.constant(f"{name}.w", quantised), row_scale,
            self.constant(f"{name}.w_scale", column_scale.astype(np.float32)), "zero_point",
            self.constant(f"{name}.w_zero", np.zeros(len(column_scale), np.int8)),
        ], f"{name}.y", domain="com.microsoft")
        if bias is None:
            return product
        # not MatMulIntegerToFloat's own bias input: with a per-row scale onnxruntime scales the bias too
        return self.op("Add", [product, self.constant(f"{name}.b", bias.astype(np.float32))], f"{name}.yb")

    def norm(self, x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        return self.op("LayerNormalization", [x, self.constant(f"{name}.w", weight.astype(np.float32)),
                                              self.constant(f"{name}.b", bias.astype(np.float32))],
                       name, axis=-1, epsilon=self.eps)

    def layer(self, x: str, weights: Callable[[str], np.ndarray], name: str, attention_bias: str | None = None) -> str:
        """One post-LayerNorm block. `weights(key)` gives float32 arrays for keys q.w, q.b, k.w, k.b, v.w, v.b,
        o.w, o.b, attention_norm.w/.b, up.w, up.b, down.w, down.b, output_norm.w/.b; matrices are [out, in]
        as torch stores them."""
        hidden = weights("q.w").shape[0]
        qkv = self.linear(x, np.concatenate([weights(f"{p}.w") for p in "qkv"]).T, f"{name}.qkv")
        split = self.constant(f"{name}.split", np.array([hidden] * 3, np.int64))
        q, k, v = (f"{name}.{p}" for p in "qkv")
        from onnx import helper

        self._nodes.append(helper.make_node("Split", [qkv, split], [q, k, v], name=f"{name}.split", axis=2))
        biases = self.constant(f"{name}.qkv.b", np.concatenate([weights(f"{p}.b") for p in "qkv"]).astype(np.float32))
        inputs = [q, k, v, biases] + (["", attention_bias] if attention_bias else [])
        context = self.op("MultiHeadAttention", inputs, f"{name}.attention", domain="com.microsoft",
                          num_heads=self.heads)
        attended = self.linear(context, weights("o.w").T, f"{name}.o", weights("o.b"))
        x = self.norm(self.op("Add", [attended, x], f"{name}.residual1"), weights("attention_norm.w"),
                      weights("attention_norm.b"), f"{name}.norm1")
        up = self.linear(x, weights("up.w").T, f"{name}.up")
        active = self.op("BiasGelu", [up, self.constant(f"{name}.up.b", weights("up.b").astype(np.float32))],
                         f"{name}.gelu", domain="com.microsoft")  # exact (erf) GELU, as BERT and e5.c
        down = self.linear(active, weights("down.w").T, f"{name}.down", weights("down.b"))
        return self.norm(self.op("Add", [down, x], f"{name}.residual2"), weights("output_norm.w"),
                         weights("output_norm.b"), f"{name}.norm2")

    def mean_pool(self, x: str) -> str:
        """The mean over tokens: every token is real, nothing is padded."""
        return self.op("ReduceMean", [x, "token_axis"], "pooled", keepdims=0)

    def save(self, path: Path, inputs: list[tuple[str, int, list]], hidden: int) -> None:
        """`inputs`: (name, onnx element type, shape) of each graph input."""
        import onnx
        from onnx import helper

        graph = helper.make_graph(
            self._nodes, "encoder", [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
            [helper.make_tensor_value_info("pooled", self._tensor.FLOAT, ["batch", hidden])], self._weights)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                        helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 10
        onnx.save(model, str(path))


def open_session(path: Path, threads: int = 1):
    """An onnxruntime session on `threads` threads that never spin waiting for work (a window runs on one
    core; a call's windows run side by side in Python threads, see `BatchRunner`)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # unused-initializer notices at load are not the user's concern
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                disabled_optimizers=DISABLED_FUSIONS)
