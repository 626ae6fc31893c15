"""Run graded questions against a `SearchService` and report the metrics, overall and per category.

Labels name stories by title (the dev set) or by corpus id (BEIR qrels); both resolve to the story the
index holds, including a story that a labelled copy was merged into.
"""
from __future__ import annotations

import csv
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..corpus import fold, json_lines, language, read_stories
from ..errors import CorpusError
from ..retrieval import SearchService
from ._metrics import all_metrics, mean


@dataclass(frozen=True)
class Question:
    qid: str
    query: str
    category: str
    relevant: dict[str, int]  # label -> grade
    answerable: bool = True  # whether the collection answers it; a question with no relevant story does not
    lang: str = ""  # the language it is asked in (read from the text when the file does not say)


def _read_text(path: Path) -> str:
    """The file as UTF-8 text; a wrong path or encoding is a `CorpusError` naming it (and the line), not a traceback."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CorpusError(str(path), "no such file") from None
    except IsADirectoryError:
        raise CorpusError(str(path), "is a folder, not a file") from None
    except OSError as exc:
        raise CorpusError(str(path), f"cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(str(path), "not UTF-8 text", data.count(b"\n", 0, exc.start) + 1) from None


def _records(path: Path, required: tuple[str, ...], text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) per non-blank JSONL line, each holding the `required` fields, its `text` a string."""
    for no, record in json_lines(path, _read_text(path).splitlines()):
        if not isinstance(record, dict):
            raise CorpusError(str(path), f"expected a JSON object per line, got {type(record).__name__}", no)
        missing = next((field for field in required if field not in record), None)
        if missing is not None:
            raise CorpusError(str(path), f"no {missing!r} field (each line needs {', '.join(required)})", no)
        if not isinstance(record[text], str):
            raise CorpusError(str(path), f"{text} must be a string, got {type(record[text]).__name__}", no)
        yield no, record


def _grade(value: object) -> int | None:
    """A relevance grade as a whole number, else None. Integral floats ("1.0", 2.0) count: some tools write
    graded qrels that way and the grade is unambiguous; 0.5, "high" or a boolean would be a guess, so they don't."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return int(number) if number.is_integer() else None


def _grades(path: Path, no: int, field: str, value: object) -> dict[str, int]:
    """A line's label -> grade object, every grade a whole number."""
    if not isinstance(value, dict):
        raise CorpusError(str(path), f"{field} must be an object of label: grade, got {type(value).__name__}", no)
    grades = {}
    for label, raw in value.items():
        if (grade := _grade(raw)) is None:
            raise CorpusError(str(path), f"{field} grade {raw!r} for {label!r} is not a whole number", no)
        grades[label] = grade
    return grades


def load_questions(path: Path) -> list[Question]:
    """Every question, checked before any is searched: a bad line fails at once with its number.

    A line needs `qid` and `query`; `relevant` grades stories by title; `answerable` (true or false) says
    whether the collection answers it at all, for questions checked only for that decision (it defaults to
    whether `relevant` names a story); `category` (or `kind`) and `lang` group the report."""
    questions = []
    for no, r in _records(path, ("qid", "query"), text="query"):
        relevant = _grades(path, no, "relevant", r.get("relevant", {}))
        answerable = r.get("answerable", bool(relevant))
        if not isinstance(answerable, bool):
            raise CorpusError(str(path), f"answerable must be true or false, got {answerable!r}", no)
        if relevant and not answerable:
            raise CorpusError(str(path), "a question with relevant stories can't be unanswerable", no)
        questions.append(Question(str(r["qid"]), r["query"], str(r.get("category", r.get("kind", "all"))), relevant,
                                  answerable, str(r.get("lang") or language(r["query"]))))
    return questions


def load_related(path: Path) -> list[tuple[str, dict[str, int]]]:
    """(title, related title -> grade) per line of a dev_related file, checked before any story is looked up."""
    return [(r["title"], _grades(path, no, "related", r["related"]))
            for no, r in _records(path, ("title", "related"), text="title")]


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> corpus id -> grade from a BEIR qrels TSV: query-id, corpus-id, score, under an optional header.

    The header is told apart by its score column not being a number, so a first row scored "1.0" is data.
    """
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    reader = csv.reader(_read_text(path).splitlines(), delimiter="\t")
    try:
        for row in reader:
            if not row:
                continue
            grade = _grade(row[-1])
            if reader.line_num == 1 and grade is None:
                continue  # header
            if len(row) < 3:
                raise CorpusError(str(path), "expected query-id, corpus-id, score", reader.line_num)
            if grade is None:
                raise CorpusError(str(path), f"score {row[-1]!r} is not a whole number", reader.line_num)
            qrels[row[0]][row[-2]] = grade
    except csv.Error as exc:
        raise CorpusError(str(path), f"malformed TSV ({exc})", reader.line_num) from None
    return dict(qrels)


def title_resolver(service: SearchService) -> Callable[[str], str | None]:
    by_title = {fold(t): s.id for s in service.index.stories for t in s.titles}
    return lambda label: by_title.get(fold(label))


def evaluate(service: SearchService, questions: list[Question], resolve: Callable[[str], str | None],
             mode: str = "hybrid", diversify: bool = False) -> dict[str, Any]:
    per_query, by_category = [], defaultdict(list)
    decided: dict[str, dict[str, list[bool]]] = {"category": defaultdict(list), "language": defaultdict(list)}
    none_scores, answerable_flags = [], []
    lowest_answerable_top = None
    for q in questions:
        grades: dict[str, int] = {}
        for label, grade in q.relevant.items():
            story_id = resolve(label)
            if story_id is not None:
                grades[story_id] = max(grades.get(story_id, 0), int(grade))
        result = service.search(q.query, k=10, mode=mode, diversify=diversify)
        top = result.hits[0].score if result.hits else 0.0  # the evidence the decision read
        row: dict[str, Any] = {"qid": q.qid, "category": q.category, "lang": q.lang, "answerable": result.answerable,
                               "top_score": round(top, 4), "top": [h.story.id for h in result.hits[:3]]}
        decided["category"][q.category].append(result.answerable == q.answerable)
        decided["language"][q.lang].append(result.answerable == q.answerable)
        if not q.answerable:
            none_scores.append({"qid": q.qid, "top_score": round(top, 4), "flagged": not result.answerable})
        else:
            answerable_flags.append(not result.answerable)
            lowest_answerable_top = top if lowest_answerable_top is None else min(lowest_answerable_top, top)
        if q.relevant:
            metrics = all_metrics([grades.get(h.story.id, 0) for h in result.hits], list(grades.values()))
            row.update(metrics)
            by_category[q.category].append(metrics)
        per_query.append(row)
    scored = [m for rows in by_category.values() for m in rows]
    caught = sum(bool(n["flagged"]) for n in none_scores)
    return {
        "mode": mode, "diversify": diversify, "fusion": service.fusion, "model": service.index.model_id,
        "questions": len(questions),
        "metrics": mean(scored),
        "per_category": {c: {**mean(rows), "questions": len(rows)} for c, rows in sorted(by_category.items())},
        "no_answer": {"questions": len(none_scores), "flagged": caught,
                      "answerable_questions": len(answerable_flags), "answerable_flagged": sum(answerable_flags),
                      **_flag_quality(caught, len(none_scores), sum(answerable_flags)),
                      "correct": {group: {name: f"{sum(ok)}/{len(ok)}" for name, ok in sorted(by.items())}
                                  for group, by in decided.items()},
                      "scores": none_scores,
                      "lowest_answerable_top_score": None if lowest_answerable_top is None
                      else round(lowest_answerable_top, 4)},
        "per_query": per_query,
    }


def _flag_quality(caught: int, unanswerable: int, wrongly: int) -> dict[str, float | None]:
    """Precision and recall of the "nothing answers this" flag, unanswerable questions the positive class."""
    flags = caught + wrongly
    return {"nothing_precision": round(caught / flags, 4) if flags else None,
            "nothing_recall": round(caught / unanswerable, 4) if unanswerable else None}


def evaluate_related(service: SearchService, pairs: list[tuple[str, dict[str, int]]],
                     resolve: Callable[[str], str | None]) -> dict[str, Any]:
    """Related-story metrics for `pairs` (from `load_related`): story title -> graded related titles."""
    rows = []
    for title, related in pairs:
        story_id = resolve(title)
        if story_id is None:
            continue
        grades = {sid: g for label, g in related.items() if (sid := resolve(label))}
        hits = service.related(story_id, k=10)
        rows.append(all_metrics([grades.get(h.story.id, 0) for h in hits], list(grades.values())))
    return {"stories": len(rows), "metrics": mean(rows)}


@dataclass(frozen=True)
class BeirSet:
    """A BEIR folder read and checked: its corpus files, its judged questions, and each document's source."""

    corpus: tuple[Path, ...]  # corpus.jsonl, or its parts corpus-00.jsonl, corpus-01.jsonl ... in order
    questions: list[Question]
    source_of: dict[str, str]  # corpus id -> the source a story keeps of it

    def resolver(self, service: SearchService) -> Callable[[str], str | None]:
        """Corpus id -> the id of the story its document ended up in (near-duplicates are merged)."""
        story_of_source = {src: s.id for s in service.index.stories for src in s.sources}
        return lambda doc: story_of_source.get(self.source_of.get(doc, ""))


def load_beir(folder: Path) -> BeirSet:
    """A BEIR folder: corpus.jsonl (or the same split into corpus-00.jsonl, corpus-01.jsonl ...), queries.jsonl
    and qrels.tsv (or qrels/test.tsv)."""
    whole = folder / "corpus.jsonl"
    corpus = (whole,) if whole.is_file() else tuple(sorted(folder.glob("corpus-[0-9]*.jsonl")))
    qrels_path = next((p for p in (folder / "qrels.tsv", folder / "qrels" / "test.tsv") if p.is_file()), None)
    if not corpus or not (folder / "queries.jsonl").is_file() or qrels_path is None:
        raise CorpusError(str(folder), "a BEIR folder needs corpus.jsonl (or its parts corpus-00.jsonl ...), "
                                       "queries.jsonl and qrels.tsv (or qrels/test.tsv)")
    qrels = load_qrels(qrels_path)
    questions = [Question(str(q["_id"]), q["text"], "beir", qrels[str(q["_id"])], lang=language(q["text"]))
                 for _, q in _records(folder / "queries.jsonl", ("_id", "text"), text="text") if str(q["_id"]) in qrels]
    return BeirSet(corpus, questions, {s.id: s.sources[0] for s in read_stories(list(corpus))})


def evaluate_beir(folder: Path, model: str | None = None, mode: str = "hybrid",
                  progress: bool = False) -> dict[str, Any]:
    """Build a throw-away index of a BEIR folder's corpus and evaluate its queries and qrels on it."""
    from ..collection import build_index

    beir = load_beir(folder)
    with tempfile.TemporaryDirectory(prefix="beir-index-") as tmp:
        build_index(beir.corpus, Path(tmp), model, progress=progress)
        service = SearchService.open(Path(tmp))
        report = evaluate(service, beir.questions, beir.resolver(service), mode)
    report["corpus"] = ", ".join(map(str, beir.corpus))
    return report
