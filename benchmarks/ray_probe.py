"""Run inside a local cluster's namespace by `benchmarks.build`: embed Reuters stories on the cluster's encoders.

    python -m benchmarks.ray_probe ADDRESS STORIES ACTORS_PER_NODE OUT.json

Times only the embedding, once every encoder has loaded its model and passed its check (`RayEncoder`'s
start), through the encoder a build uses: shards of `ray_build.SHARD` stories, in order.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from search.collection import Cluster
from search.collection._ray_build import SHARD

from .common import reuters_texts


def main(address: str, stories: int, per_node: int, out: Path) -> None:
    texts = [f"{r.get('title', '')}\n{r.get('text', '')}".strip() for r in reuters_texts(stories)]
    with tempfile.TemporaryDirectory() as root:
        encoder = Cluster(address, per_node).encoder("e5", Path(root))
        try:
            started = time.perf_counter()
            vectors = list(encoder.run(iter([texts[i:i + SHARD] for i in range(0, len(texts), SHARD)])))
            seconds = time.perf_counter() - started
            encoders = len(encoder.workers)
        finally:
            encoder.close()
    assert sum(len(v) for v in vectors) == len(texts)
    out.write_text(json.dumps({"stories": len(texts), "encoders": encoders, "actors_per_node": per_node,
                               "seconds": round(seconds, 1), "stories_per_s": round(len(texts) / seconds, 1)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
