"""Run graded questions against a `SearchService` and report the metrics, overall and per category.

Labels name stories by title (the dev set) or by corpus id (BEIR qrels); both resolve to the story the
index holds, including a story that a labelled copy was merged into.
"""
from __future__ import annotations

import csv
import json
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import CorpusError
from ..readers import read_stories
from ..service import SearchService
from ..story import fold
from .metrics import all_metrics, mean


@dataclass(frozen=True)
class Question:
    qid: str
    query: str
    category: str
    relevant: dict[str, int]  # label -> grade


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CorpusError(str(path), f"invalid JSON ({exc.msg})", no) from None
    return rows


def load_questions(path: Path) -> list[Question]:
    try:
        return [Question(str(r["qid"]), r["query"], r.get("category", "all"), dict(r.get("relevant", {})))
                for r in _jsonl(path)]
    except (KeyError, TypeError, AttributeError) as exc:
        raise CorpusError(str(path), f"each line needs qid, query and relevant ({exc})") from None


def title_resolver(service: SearchService) -> Callable[[str], str | None]:
    by_title = {fold(t): s.id for s in service.index.stories for t in s.titles}
    return lambda label: by_title.get(fold(label))


def evaluate(service: SearchService, questions: list[Question], resolve: Callable[[str], str | None],
             mode: str = "hybrid", diversify: bool = False) -> dict[str, Any]:
    per_query, by_category = [], defaultdict(list)
    none_scores, answerable_flags = [], []
    lowest_answerable_top = None
    for q in questions:
        grades: dict[str, int] = {}
        for label, grade in q.relevant.items():
            story_id = resolve(label)
            if story_id is not None:
                grades[story_id] = max(grades.get(story_id, 0), int(grade))
        result = service.search(q.query, k=10, mode=mode, diversify=diversify)
        # The dense evidence behind the answerable decision: the best cosine among the hits (top score in lexical mode).
        top = max((h.why.get("dense", h.score) for h in result.hits), default=0.0)
        row: dict[str, Any] = {"qid": q.qid, "category": q.category, "answerable": result.answerable,
                               "top_score": round(top, 4), "top": [h.story.id for h in result.hits[:3]]}
        if not q.relevant:
            none_scores.append({"qid": q.qid, "top_score": round(top, 4), "flagged": not result.answerable})
        else:
            metrics = all_metrics([grades.get(h.story.id, 0) for h in result.hits], list(grades.values()))
            row.update(metrics)
            by_category[q.category].append(metrics)
            answerable_flags.append(not result.answerable)
            lowest_answerable_top = top if lowest_answerable_top is None else min(lowest_answerable_top, top)
        per_query.append(row)
    scored = [m for rows in by_category.values() for m in rows]
    return {
        "mode": mode, "diversify": diversify, "fusion": service.fusion, "model": service.index.model_id,
        "questions": len(questions),
        "metrics": mean(scored),
        "per_category": {c: {**mean(rows), "questions": len(rows)} for c, rows in sorted(by_category.items())},
        "no_answer": {"questions": len(none_scores), "flagged": sum(n["flagged"] for n in none_scores),
                      "answerable_flagged": sum(answerable_flags), "scores": none_scores,
                      "lowest_answerable_top_score": None if lowest_answerable_top is None else round(lowest_answerable_top, 4)},
        "per_query": per_query,
    }


def evaluate_related(service: SearchService, path: Path, resolve: Callable[[str], str | None]) -> dict[str, Any]:
    rows = []
    for r in _jsonl(path):
        story_id = resolve(r["title"])
        if story_id is None:
            continue
        grades = {sid: int(g) for label, g in r["related"].items() if (sid := resolve(label))}
        hits = service.related(story_id, k=10)
        rows.append(all_metrics([grades.get(h.story.id, 0) for h in hits], list(grades.values())))
    return {"stories": len(rows), "metrics": mean(rows)}


def evaluate_beir(folder: Path, model: str | None = None, mode: str = "hybrid", progress: bool = False) -> dict[str, Any]:
    """Build a throw-away index of a BEIR folder's corpus and evaluate its queries and qrels on it."""
    from ..builder import build_index

    corpus = folder / "corpus.jsonl"
    qrels_path = next((p for p in (folder / "qrels.tsv", folder / "qrels" / "test.tsv") if p.is_file()), None)
    if not corpus.is_file() or not (folder / "queries.jsonl").is_file() or qrels_path is None:
        raise CorpusError(str(folder), "a BEIR folder needs corpus.jsonl, queries.jsonl and qrels.tsv (or qrels/test.tsv)")
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with qrels_path.open(encoding="utf-8") as f:
        for no, row in enumerate(csv.reader(f, delimiter="\t"), 1):
            if no == 1 and not row[-1].lstrip("-").isdigit():
                continue  # header
            if len(row) < 3:
                raise CorpusError(str(qrels_path), "expected query-id, corpus-id, score", no)
            qrels[row[0]][row[-2]] = int(row[-1])
    questions = [Question(str(q["_id"]), q["text"], "beir", qrels.get(str(q["_id"]), {}))
                 for q in _jsonl(folder / "queries.jsonl") if str(q["_id"]) in qrels]
    # A corpus id resolves to the story its document ended up in (near-duplicates are merged).
    source_of = {s.id: s.sources[0] for s in read_stories([corpus])}
    with tempfile.TemporaryDirectory(prefix="beir-index-") as tmp:
        build_index([corpus], Path(tmp), model, progress=progress)
        service = SearchService.open(Path(tmp))
        story_of_source = {src: s.id for s in service.index.stories for src in s.sources}
        report = evaluate(service, questions, lambda doc: story_of_source.get(source_of.get(doc, "")), mode)
    report["corpus"] = str(corpus)
    return report
