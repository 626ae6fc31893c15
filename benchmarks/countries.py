"""Which countries the gazetteer tags, on the seeds and on Reuters-21578, checked against Reuters' own places.

    python -m benchmarks.countries [--label NAME]

Reuters' stories carry the places their editors assigned (`places`: "usa", "japan", "west-germany"); a
country the gazetteer finds in a story's title or text that those places also name is counted as agreeing.
Not every mention is a place the editors listed, so agreement is a floor on precision, not precision; what it
shows well is a name that is mostly wrong (a country almost never agreeing is a false friend: "Georgia" the
state, "Jordan" a person). Prints the figures and writes benchmarks/results/countries-LABEL.json.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from search.corpus import canonical_country, load_corpus
from search.corpus._places import countries_in

from .common import RESULTS, REUTERS, ROOT

# Reuters' place codes whose words are not a country's name today.
REUTERS_CODES = {"usa": "United States", "uk": "United Kingdom", "ussr": "Russia", "west-germany": "Germany",
                 "east-germany": "Germany", "south-korea": "South Korea", "north-korea": "North Korea",
                 "zaire": "Democratic Republic of the Congo", "burma": "Myanmar", "ivory-coast": "Côte d'Ivoire"}
WATCHED = ("Chad", "Georgia", "Jordan", "Niger", "Türkiye", "Guinea", "China", "Chile", "Jersey", "Panama", "Mexico")


def _gold(codes: list[str]) -> set[str]:
    return {REUTERS_CODES.get(c) or canonical_country(c.replace("-", " ")) or "?" for c in codes}


def reuters() -> dict[str, Any]:
    tagged: Counter[str] = Counter()
    agreeing: Counter[str] = Counter()
    stories = with_gold = 0
    for path in sorted(Path(REUTERS).glob("corpus-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            found = countries_in(f"{row.get('title', '')}\n{row.get('text', '')}")
            stories += 1
            gold = _gold(row.get("places") or [])
            with_gold += bool(gold)
            for country in found:
                tagged[country] += 1
                agreeing[country] += country in gold
    total = sum(tagged.values())
    return {"stories": stories, "tags": total, "countries": len(tagged),
            "agreeing_with_places": round(sum(agreeing.values()) / max(total, 1), 3),
            "watched": {c: {"tagged": tagged[c], "agreeing": agreeing[c]} for c in WATCHED},
            "top": tagged.most_common(25),
            "least_agreeing": sorted(((c, n, agreeing[c]) for c, n in tagged.items() if n >= 20),
                                     key=lambda t: t[2] / t[1])[:15]}


def seeds() -> dict[str, Any]:
    stories = load_corpus([ROOT / "seeds"])
    tagged = Counter(c for s in stories for c in s.countries)
    return {"stories": len(stories), "tags": sum(tagged.values()), "countries": len(tagged), "by_country": dict(
        tagged.most_common())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="current", help="names the results file (e.g. before, after)")
    args = parser.parse_args()
    report = {"seeds": seeds(), "reuters": reuters()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"countries-{args.label}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
