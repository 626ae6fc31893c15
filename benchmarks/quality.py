"""Retrieval quality of every mode on the development set: writes benchmarks/results/quality.{json,md}.

    .venv/bin/python -m benchmarks.quality [--models e5 minilm] [--queries ../shared/eval/dev_queries.jsonl]

Each model gets a throw-away index of seeds/ (the index/ folder is not touched). Rows: dense, lexical,
hybrid (the default: convex fusion), hybrid with reciprocal rank fusion (the measured alternative), and
hybrid + MMR (diversify=True). There is no rerank row: no cross-encoder ships offline (see README.md, "Search quality").
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from search import SearchService, build_index
from search.evaluation import evaluate, evaluate_related, load_questions, load_related, title_resolver

ROOT = Path(__file__).resolve().parents[1]

EVAL = ROOT.parent / "shared" / "eval"
# (row name, mode, fusion, diversify)
ROWS: list[tuple[str, str, str, bool]] = [
    ("dense", "dense", "convex", False),
    ("lexical", "lexical", "convex", False),
    ("hybrid (default)", "hybrid", "convex", False),
    ("hybrid, RRF fusion", "hybrid", "rrf", False),
    ("hybrid + MMR", "hybrid", "convex", True),
]
CATEGORIES = ("semantic", "keyword", "question", "multi", "acronym", "spanish")


def measure(model: str, queries: Path, related: Path) -> list[dict[str, Any]]:
    questions, pairs = load_questions(queries), load_related(related)  # checked before the index is built
    with tempfile.TemporaryDirectory(prefix="quality-") as tmp:
        build_index([ROOT / "seeds"], Path(tmp), model)
        services = {fusion: SearchService.open(Path(tmp), fusion=fusion) for fusion in {f for _, _, f, _ in ROWS}}
        resolve = title_resolver(services["convex"])
        rows = []
        for name, mode, fusion, diversify in ROWS:
            service = services[fusion]
            started = time.perf_counter()
            report = evaluate(service, questions, resolve, mode, diversify)
            ms = (time.perf_counter() - started) * 1000 / len(questions)
            na = report["no_answer"]
            row = {"model": report["model"], "row": name, "mode": mode, "fusion": fusion, "diversify": diversify,
                   **report["metrics"], "per_category": {c: report["per_category"][c]["ndcg@10"]
                                                         for c in CATEGORIES if c in report["per_category"]},
                   "none_flagged": f"{na['flagged']}/{na['questions']}", "answerable_flagged": na["answerable_flagged"],
                   "ms_per_query": round(ms, 1)}
            if mode == "hybrid" and not diversify:  # related stories always run hybrid; only fusion changes them
                row["related_ndcg@10"] = evaluate_related(service, pairs, resolve)["metrics"]["ndcg@10"]
            rows.append(row)
        return rows


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    head = ["model", "row", "nDCG@10", "MRR@10", "R@5", "R@10", *CATEGORIES, "none flagged", "answerable flagged",
            "related nDCG@10"]
    lines = [f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}: nDCG@10 per category, the no-answer "
             "decisions (unanswerable questions flagged / answerable questions wrongly flagged), related-story "
             "nDCG@10 (related stories always run hybrid, so only the fusion changes them).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"].split("/")[-1], r["row"],
                 *(f"{r[k]:.3f}" for k in ("ndcg@10", "mrr@10", "recall@5", "recall@10")),
                 *(f"{r['per_category'].get(c, float('nan')):.3f}" for c in CATEGORIES),
                 r["none_flagged"], str(r["answerable_flagged"]),
                 f"{r['related_ndcg@10']:.3f}" if "related_ndcg@10" in r else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["e5", "minilm"])
    parser.add_argument("--queries", type=Path, default=EVAL / "dev_queries.jsonl")
    parser.add_argument("--related", type=Path, default=EVAL / "dev_related.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    rows = [row for model in args.models for row in measure(model, args.queries, args.related)]
    args.out.mkdir(parents=True, exist_ok=True)
    models = "" if args.models == ["e5", "minilm"] else " --models " + " ".join(args.models)
    command = "python -m benchmarks.quality" + models
    (args.out / "quality.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
    (args.out / "quality.md").write_text(markdown(rows, command))
    print(markdown(rows, command))


if __name__ == "__main__":
    main()
