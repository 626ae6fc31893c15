"""Retrieval quality with the default model on four collections: the dev set over the seeds, Reuters' answerable
and unanswerable questions, Cranfield and SciFact's training claims (docs/quality.md has every figure).

A change that makes retrieval worse (fusion, tokenisation, calibration, the answerable decision, related
stories, the second model) fails here. Where the pipeline meets its quality targets (docs/quality.md) the tests
hold the targets; where it does not yet, they hold what it reaches now, so it can only get better. Reuters,
Cranfield and SciFact build indexes of thousands of stories with two models, so they run with the slow tests.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from search import SearchService, build_index
from search.evaluation import evaluate, evaluate_related, load_beir, load_questions, load_related, title_resolver
from search.evaluation._runner import BeirSet
from tests.helpers import DEV_QUERIES, DEV_RELATED, ROOT, SHARED

REUTERS = SHARED / "data" / "reuters21578" / "corpus-00.jsonl"
REUTERS_QUESTIONS = SHARED / "eval" / "reuters_answerable_dev.jsonl"
CRANFIELD = SHARED / "eval" / "external" / "cranfield"
SCIFACT = SHARED / "eval" / "external" / "scifact-train"
DEV_ES = ROOT / "benchmarks" / "data" / "dev_es.jsonl"
# The quality targets where they are met; under them, what the pipeline reaches now (docs/quality.md) less the
# noise of one question, so a floor fails on a real loss and not on one question changing places.
FLOORS = {"overall": 0.96, "semantic": 0.93, "spanish": 0.90, "related": 0.88}
SCIFACT_STORIES = 2_000  # every abstract a claim cites, and others up to this many (a full build is a bench's job)


def dev_figures(service: SearchService) -> dict[str, Any]:
    resolve = title_resolver(service)
    report = evaluate(service, load_questions(DEV_QUERIES), resolve)
    related = evaluate_related(service, load_related(DEV_RELATED), resolve)
    return {"overall": report["metrics"]["ndcg@10"], "related": related["metrics"]["ndcg@10"],
            **{c: m["ndcg@10"] for c, m in report["per_category"].items()}, "report": report}


@pytest.fixture(scope="module")
def figures(service: SearchService) -> dict[str, Any]:
    return dev_figures(service)


def test_the_seeds_are_read_by_two_models(service: SearchService):
    """The seeds are small, so the default reads them with e5 and the English model (`default_model`)."""
    assert len(service.index.scale.dims) == 2


@pytest.mark.parametrize("figure", FLOORS)
def test_the_pipeline_holds_the_dev_figures(figures: dict[str, Any], figure: str):
    assert figures[figure] >= FLOORS[figure], {k: v for k, v in figures.items() if k != "report"}


def test_default_search_is_hybrid_with_convex_fusion(service: SearchService, figures: dict[str, Any]):
    assert figures["report"]["mode"] == "hybrid" and service.fusion == "convex"
    assert service.search("migrant smuggling").mode == "hybrid"


def test_every_unanswerable_dev_question_is_flagged_and_at_most_two_answerable(figures: dict[str, Any]):
    na = figures["report"]["no_answer"]
    assert na["questions"] == 3 and na["flagged"] == 3, na["scores"]
    assert na["answerable_flagged"] <= 2


def test_a_spanish_wording_gets_the_decision_of_its_english_one(service: SearchService, figures: dict[str, Any]):
    english = {q["qid"]: q["answerable"] for q in figures["report"]["per_query"]}
    spanish = evaluate(service, load_questions(DEV_ES), title_resolver(service))["per_query"]
    same = [english[q["qid"].removesuffix("es")] == q["answerable"] for q in spanish]
    assert sum(same) >= 22, [q["qid"] for q, ok in zip(spanish, same) if not ok]  # of 24; the target is 23


def test_hybrid_beats_each_channel_alone(service: SearchService, figures: dict[str, Any]):
    """Fusion must add something: if one channel were ignored, hybrid would just equal the other."""
    questions, resolve = load_questions(DEV_QUERIES), title_resolver(service)
    for mode in ("dense", "lexical"):
        alone = evaluate(service, questions, resolve, mode)["metrics"]["ndcg@10"]
        assert figures["overall"] > alone, mode


@pytest.fixture(scope="module")
def reuters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("reuters")
    build_index([REUTERS], root, laid_out=False)
    return evaluate(SearchService.open(root), load_questions(REUTERS_QUESTIONS), lambda label: None)


@pytest.mark.slow
def test_reuters_answerable_questions_are_answered(reuters: dict[str, Any]):
    na = reuters["no_answer"]
    assert na["answerable_questions"] == 20 and na["answerable_flagged"] <= 1, na["correct"]  # >= 95 %


@pytest.mark.slow
def test_reuters_unanswerable_questions_are_flagged(reuters: dict[str, Any]):
    na = reuters["no_answer"]
    assert na["questions"] == 20 and na["flagged"] >= 15, na["correct"]  # the target is 19


@pytest.mark.slow
def test_cranfield_meets_its_target(tmp_path_factory: pytest.TempPathFactory):
    """A domain nothing here was built for (aeronautics abstracts, 225 judged questions)."""
    cranfield = load_beir(CRANFIELD)
    root: Path = tmp_path_factory.mktemp("cranfield")
    build_index(cranfield.corpus, root, laid_out=False)
    service = SearchService.open(root)
    reports = {mode: evaluate(service, cranfield.questions, cranfield.resolver(service), mode)
               for mode in ("hybrid", "lexical")}
    assert reports["hybrid"]["metrics"]["ndcg@10"] >= max(0.42, reports["lexical"]["metrics"]["ndcg@10"])
    assert reports["hybrid"]["no_answer"]["answerable_flagged"] <= len(cranfield.questions) // 20  # judged: answerable


def scifact_sample(folder: Path) -> BeirSet:
    """SciFact-train with every abstract its claims cite and, in corpus order, others up to SCIFACT_STORIES:
    the claims and their judgements whole, at the cost of a build a test can afford."""
    full = load_beir(SCIFACT)
    cited = {doc for q in full.questions for doc in q.relevant}
    lines = [line for part in full.corpus for line in part.read_text(encoding="utf-8").splitlines() if line.strip()]
    others = SCIFACT_STORIES - len(cited)
    kept = []
    for line in lines:
        if str(json.loads(line)["_id"]) in cited:
            kept.append(line)
        elif others > 0:
            kept.append(line)
            others -= 1
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    for name in ("queries.jsonl", "qrels.tsv"):
        (folder / name).write_bytes((SCIFACT / name).read_bytes())
    return load_beir(folder)


@pytest.mark.slow
def test_scifact_claims_are_ranked_and_answered(tmp_path: Path):
    """Biomedical claims, every one answerable, over abstracts: the ranking must meet its nDCG@10 target, and
    few claims may be flagged unanswerable (the flagged share is held where it is now, above its target)."""
    scifact = scifact_sample(tmp_path / "scifact")
    build_index(scifact.corpus, tmp_path / "index", laid_out=False)
    service = SearchService.open(tmp_path / "index")
    report = evaluate(service, scifact.questions, scifact.resolver(service))
    assert report["metrics"]["ndcg@10"] >= 0.72
    assert report["no_answer"]["answerable_flagged"] <= 45
