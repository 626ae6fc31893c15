"""The evaluation runner on the development set, and on a BEIR folder built from the seed stories."""
from __future__ import annotations

import json
from pathlib import Path

from search import SearchService
from search.corpus import load_corpus
from search.evaluation import evaluate, evaluate_beir, load_questions, title_resolver
from tests.conftest import SEEDS


def test_dense_search_reaches_ndcg_080_on_the_dev_set(service: SearchService, dev_queries: Path):
    report = evaluate(service, load_questions(dev_queries), title_resolver(service), mode="dense")
    assert report["metrics"]["ndcg@10"] >= 0.80
    assert report["questions"] == 45


def test_every_label_resolves_to_a_story(service: SearchService, dev_queries: Path):
    resolve = title_resolver(service)
    labels = {label for q in load_questions(dev_queries) for label in q.relevant}
    assert labels and all(resolve(label) for label in labels)


def test_beir_folder_builds_a_throwaway_index(tmp_path: Path):
    stories = load_corpus([SEEDS])[:12]
    with (tmp_path / "corpus.jsonl").open("w") as f:
        for s in stories:
            f.write(json.dumps({"_id": f"doc{s.id}", "title": s.title, "text": s.body}) + "\n")
    (tmp_path / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": stories[3].title}) + "\n")
    (tmp_path / "qrels.tsv").write_text(f"query-id\tcorpus-id\tscore\nq1\tdoc{stories[3].id}\t1\n")
    report = evaluate_beir(tmp_path)
    assert report["questions"] == 1 and report["metrics"]["mrr@10"] == 1.0
