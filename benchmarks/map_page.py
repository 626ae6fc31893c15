"""The map page on a large index: time to a ready page, to the drawn map, and of hover, click and search.

    python -m benchmarks.map_page INDEX_DIR [--runs 3]

Serves INDEX_DIR as `serve` does and drives Debian's Chromium (Playwright) through a reader's steps; prints
the timings and writes them to benchmarks/results/map_page.json. Build a
Reuters index for it with the stand-in model (the map code does not care which model made the vectors):
`python -m search build --corpus ../shared/data/reuters21578 --model hashing --index-dir /tmp/reuters-index`.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from search import SearchService
from search.serving import serve_in_background

from .common import RESULTS

CHROMIUM = "/usr/bin/chromium"


def measure(index_dir: Path, runs: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    service = SearchService.open(index_dir)
    story = service.index.stories[len(service.index) // 2]
    timings: dict[str, list[float]] = {k: [] for k in ("page_ready_s", "map_drawn_s", "hover_ms", "click_to_panel_s",
                                                      "search_to_highlight_s")}
    with serve_in_background(service) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(300_000)
            started = time.perf_counter()
            page.goto(url + "/")
            page.locator("html[data-ready=true]").wait_for(state="attached")
            timings["page_ready_s"].append(time.perf_counter() - started)
            started = time.perf_counter()
            page.get_by_role("tab", name="Map").click()
            page.locator("#map .atlas:not([data-drawn='0'])").wait_for()
            timings["map_drawn_s"].append(time.perf_counter() - started)
            at = page.evaluate("id => document.querySelector('#map .atlas').atlas.screenPoint(id)", story.id)
            started = time.perf_counter()
            page.mouse.move(at["x"], at["y"])
            page.locator("#map .atlas-tip:not([hidden])").wait_for()
            timings["hover_ms"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            page.mouse.click(at["x"], at["y"])
            page.locator("#related .related-title").wait_for()
            timings["click_to_panel_s"].append(time.perf_counter() - started)
            started = time.perf_counter()
            box = page.get_by_label("Your question")
            box.fill("oil prices opec output")
            box.press("Enter")
            page.locator("#map .atlas:not([data-highlighted='0'])").wait_for()
            timings["search_to_highlight_s"].append(time.perf_counter() - started)
            page.close()
        browser.close()
    drawn = len(service.index.atlas) if service.index.atlas is not None else 0
    return {"stories": len(service.index), "points": min(drawn, 20_000),
            **{k: [round(v, 3) for v in vs] for k, vs in timings.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    report = json.dumps(measure(args.index_dir, args.runs), indent=2)
    print(report)
    (RESULTS / "map_page.json").write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
