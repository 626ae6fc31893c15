"""What one add costs as the collection grows, apart from the model: `python -m benchmarks.writes [SIZES ...]`.

The model's share (embedding the new story) does not depend on the collection; the rest does. A stand-in
embedder (a random unit vector per text) keeps that rest in view, with synthetic stories. Beside the
shipped add (`SearchService.add`: copies looked for among the new story's nearest neighbours) it times
the earlier way of finding copies, MinHash over every held story (`resolve_updates` given them all).
Writes benchmarks/results/writes.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from search.collection.config import Config
from search.collection.story_index import StoryIndex
from search.corpus.dedupe import resolve_updates
from search.corpus.load import prepare
from search.corpus.story import Story, make_story
from search.embedding.base import Embedder
from search.retrieval.service import SearchService

from .common import RESULTS

WORDS = ("migrants border training police smuggling labour health return reintegration shelter data study "
         "caribbean panama guyana coast guard rescue visa permit workers families").split()


class StandIn(Embedder):
    """A unit vector seeded by the text: no model, so only the index's own work is timed."""

    model_id, dim = "stand-in", 384

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        vectors = np.stack([np.random.default_rng(int(hashlib.sha1(t.encode()).hexdigest()[:8], 16))
                            .standard_normal(self.dim) for t in texts]).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def synthetic(n: int) -> list[Story]:
    rng = np.random.default_rng(1)
    return [make_story(f"Story {i} {' '.join(rng.choice(WORDS, 4))}", f"{' '.join(rng.choice(WORDS, 120))} {i}.")
            for i in range(n)]


def one_size(n: int) -> dict[str, float]:
    embedder = StandIn()
    index = StoryIndex.build(prepare(synthetic(n)), embedder, Config(model="stand-in", index_type="faiss-flat"))
    root = Path(tempfile.mkdtemp()) / "index"
    index.save(root)
    service = SearchService(index, embedder, root)
    new = make_story("Coast guards trained", "Coast guards of three island states trained in rescuing migrants.")
    started = time.perf_counter()
    resolve_updates(service.index.stories, [new])
    minhash_all = time.perf_counter() - started
    started = time.perf_counter()
    service.add([new])
    add = time.perf_counter() - started
    return {"stories": n, "add_s": round(add, 2), "minhash_over_all_s": round(minhash_all, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[5_000, 20_000])
    rows = [one_size(n) for n in parser.parse_args().sizes]
    for row in rows:
        print(f"{row['stories']:>9,} stories: one add {row['add_s']:.2f} s "
              f"(finding copies by MinHash over all instead: {row['minhash_over_all_s']:.2f} s on its own)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "writes.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
