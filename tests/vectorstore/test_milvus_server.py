"""Slow: the real Milvus engine (2.3 standalone), started inside a loopback-only network namespace,
gives FAISS's exact top 10 for the dev questions on the seeds, with filters pushed down."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.milvus_netns import run_probe, unavailable
from search.vectorstore import FaissFlatStore
from tests.helpers import assert_same_top, seed_case

pytestmark = pytest.mark.slow


@pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "")
def test_real_milvus_matches_faiss_exact_search(service, dev_queries, tmp_path: Path):
    case = seed_case(service, dev_queries)
    np.savez(tmp_path / "case.npz", keys=case["keys"], vectors=case["vectors"], queries=case["queries"],
             allow_country=case["country"], allow_alternate=case["alternate"])
    run_probe(tmp_path / "case.npz", tmp_path / "out.npz")
    out = np.load(tmp_path / "out.npz")
    flat = FaissFlatStore(case["vectors"].shape[1])
    flat.add(case["keys"], case["vectors"])
    for name, allowed in (("all", None), ("allow_country", case["country"]), ("allow_alternate", case["alternate"])):
        assert_same_top((out[f"scores_{name}"], out[f"ids_{name}"]), flat.search(case["queries"], 10, allowed))
