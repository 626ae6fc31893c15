"""The "nothing answers this" bar swept over the indexes `benchmarks.quality` built: how many questions each
setting flags on every collection, side by side (writes benchmarks/results/decision.json).

    .venv/bin/python -m benchmarks.decision [--model e5+mpnet] [--bars 0.33 0.36 0.40]

Run `benchmarks.quality` with the model first: this reads its indexes and embeds only the questions.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import search.retrieval._answerable as answerable
from search import SearchService
from search.collection import load_index
from search.embedding import canonical_model_id, load_embedder
from search.evaluation import Question, evaluate, load_beir, load_questions

from .quality import CRANFIELD, DATA, EVAL, ROOT, SCIFACT

SETS: dict[str, tuple[str, Any]] = {
    "dev": ("dev", lambda: load_questions(EVAL / "dev_queries.jsonl")),
    "dev-extra": ("dev", lambda: load_questions(DATA / "dev_extra.jsonl")),
    "reuters": ("reuters", lambda: load_questions(EVAL / "reuters_answerable_dev.jsonl")),
    "cranfield": ("cranfield", lambda: load_beir(CRANFIELD).questions),
    "scifact": ("scifact", lambda: load_beir(SCIFACT).questions),
}


def sweep(model: str, work: Path, bars: list[float]) -> list[dict[str, Any]]:
    folder = work / canonical_model_id(model).replace("/", "--")
    embedder = load_embedder(model)
    services = {c: SearchService(load_index(folder / c), embedder, folder / c) for c, _ in SETS.values()}
    questions: dict[str, list[Question]] = {name: load() for name, (_, load) in SETS.items()}
    rows = []
    for bar in bars:
        answerable.ANSWERABLE = bar  # the decision reads the module's constant at every question
        row: dict[str, Any] = {"model": model, "answerable_bar": bar}
        for name, (collection, _) in SETS.items():
            na = evaluate(services[collection], questions[name], lambda label: None)["no_answer"]
            row[name] = {"unanswerable_flagged": f"{na['flagged']}/{na['questions']}",
                         "answerable_flagged": f"{na['answerable_flagged']}/{na['answerable_questions']}"}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="e5+mpnet")
    parser.add_argument("--bars", type=float, nargs="+", default=[answerable.ANSWERABLE, 0.36, 0.40])
    parser.add_argument("--work", type=Path, default=ROOT / "index" / "quality")
    args = parser.parse_args()
    rows = sweep(args.model, args.work, args.bars)
    command = f"python -m benchmarks.decision --model {args.model} --bars {' '.join(map(str, args.bars))}"
    (ROOT / "benchmarks" / "results" / "decision.json").write_text(
        json.dumps({"command": command, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
