"""The evaluation runner on the development set, and on a BEIR folder built from the seed stories."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from search import SearchService
from search.cli import main
from search.corpus._load import load_corpus
from search.evaluation import evaluate, evaluate_beir, load_questions, title_resolver
from search.evaluation._runner import load_qrels
from tests.helpers import SEEDS


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


# --- bad evaluation files: one `error:` line naming the file (and line), exit 1, never a traceback -------------
def eval_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run `eval` in-process (the session's model stays loaded) and return its one stderr line."""
    assert main(["eval", "-q", *args]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    return err


QUESTION = {"qid": "q1", "query": "migrant smuggling", "relevant": {"Some title": 2}}
BAD_QUESTIONS = {
    "missing": (None, "missing.jsonl: no such file"),
    "folder": ("folder", "folder.jsonl: is a folder, not a file"),
    "not-utf8": (json.dumps(QUESTION).encode() + b'\n{"qid": "q2", "query": "caf\xe9"}\n', "bad.jsonl:2: not UTF-8"),
    "not-json": (json.dumps(QUESTION) + "\n{oops\n", "bad.jsonl:2: invalid JSON"),
    "not-an-object": ("[1, 2]\n", "bad.jsonl:1: expected a JSON object"),
    "no-query": (json.dumps(QUESTION) + '\n{"qid": "q2"}\n', "bad.jsonl:2: no 'query' field"),
    "query-not-text": ('{"qid": "q1", "query": 7}\n', "bad.jsonl:1: query must be a string"),
    "relevant-not-object": ('{"qid": "q1", "query": "x", "relevant": ["a"]}\n', "bad.jsonl:1: relevant must be an"),
    "grade-not-whole": ('{"qid": "q1", "query": "x", "relevant": {"a": 0.5}}\n', "bad.jsonl:1: relevant grade 0.5"),
}


def _write(folder: Path, name: str, data: str | bytes | None) -> Path:
    path = folder / name
    if data == "folder":
        path.mkdir()
    elif isinstance(data, bytes):
        path.write_bytes(data)
    elif data is not None:
        path.write_text(data, encoding="utf-8")
    return path


@pytest.mark.parametrize("data, needle", BAD_QUESTIONS.values(), ids=BAD_QUESTIONS.keys())
def test_a_bad_questions_file_is_one_error_line(seed_index: Path, tmp_path: Path, capsys, data, needle: str):
    name = needle.split(":")[0]
    path = _write(tmp_path, name, data)
    assert needle in eval_error(capsys, str(path), "--index-dir", str(seed_index))


@pytest.mark.parametrize("data, needle", [
    ('{"title": "x"}\n', "related.jsonl:1: no 'related' field"),
    ('{"related": {}}\n', "related.jsonl:1: no 'title' field"),
    ('{"title": "x", "related": {"y": "high"}}\n', "related.jsonl:1: related grade 'high'"),
], ids=["no-related", "no-title", "grade-not-a-number"])
def test_a_bad_related_file_is_one_error_line(seed_index: Path, tmp_path: Path, capsys, data: str, needle: str):
    questions = _write(tmp_path, "questions.jsonl", json.dumps(QUESTION) + "\n")
    related = _write(tmp_path, "related.jsonl", data)
    assert needle in eval_error(capsys, str(questions), "--related", str(related), "--index-dir", str(seed_index))


BEIR_QUERIES = '{"_id": "q1", "text": "smuggling"}\n'
BEIR_QRELS = "query-id\tcorpus-id\tscore\nq1\tdoc1\t1\n"
BAD_BEIR = {
    "query-without-id": ({"queries.jsonl": BEIR_QUERIES + '{"text": "no id"}\n'}, "queries.jsonl:2: no '_id' field"),
    "query-without-text": ({"queries.jsonl": '{"_id": "q1"}\n'}, "queries.jsonl:1: no 'text' field"),
    "queries-not-utf8": ({"queries.jsonl": b'{"_id": "q1", "text": "caf\xe9"}\n'}, "queries.jsonl:1: not UTF-8"),
    "fractional-score": ({"qrels.tsv": BEIR_QRELS + "q1\tdoc2\t0.5\n"}, "qrels.tsv:3: score '0.5' is not a whole"),
    "text-score": ({"qrels.tsv": "q1\tdoc1\t1\nq1\tdoc2\thigh\n"}, "qrels.tsv:2: score 'high'"),
    "short-row": ({"qrels.tsv": BEIR_QRELS + "q1\t1\n"}, "qrels.tsv:3: expected query-id, corpus-id, score"),
    "qrels-not-utf8": ({"qrels.tsv": BEIR_QRELS.encode() + b"q1\tdoc\xe9\t1\n"}, "qrels.tsv:3: not UTF-8"),
}


@pytest.mark.parametrize("files, needle", BAD_BEIR.values(), ids=BAD_BEIR.keys())
def test_a_bad_beir_folder_is_one_error_line_before_any_index_is_built(tmp_path: Path, capsys, files: dict,
                                                                         needle: str):
    for name, data in {"corpus.jsonl": '{"_id": "doc1", "title": "t", "text": "b"}\n', "queries.jsonl": BEIR_QUERIES,
                       "qrels.tsv": BEIR_QRELS, **files}.items():
        _write(tmp_path, name, data)
    assert needle in eval_error(capsys, "--beir", str(tmp_path))


def test_qrels_take_integral_float_scores_and_an_optional_header(tmp_path: Path):
    with_header = _write(tmp_path, "with-header.tsv", "query-id\tcorpus-id\tscore\nq1\tdoc1\t1.0\nq1\tdoc2\t2\n")
    without = _write(tmp_path, "without.tsv", "q1\tdoc1\t2.0\n\nq2\tdoc3\t-1\n")  # the first row is data, not a header
    assert load_qrels(with_header) == {"q1": {"doc1": 1, "doc2": 2}}
    assert load_qrels(without) == {"q1": {"doc1": 2}, "q2": {"doc3": -1}}
