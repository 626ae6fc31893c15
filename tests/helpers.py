"""What many tests share: where things are, the questions they ask, and checks on what a user sees.

Fixtures live in the conftest files; everything a test imports lives here, so no test imports another
test module or a conftest.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from search.embedding import Embedder
from search.embedding._base import Kind

if TYPE_CHECKING:  # only for annotations: the tests that drive a browser import Playwright themselves
    from playwright.sync_api import Locator, ViewportSize

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
DEV_QUERIES = SHARED / "eval" / "dev_queries.jsonl"
DEV_RELATED = SHARED / "eval" / "dev_related.jsonl"

SMUGGLING = "training for police against migrant smuggling"
# Many stories answer it, several of them about the same meetings: MMR reorders them.
TOPIC_QUESTION = "Regional Conference on Migration meetings"
TOKEN = "test-token-0123456789abcdef"  # the write token of the test servers
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Questions whose answers are compared before and after crashes and updates: one per search channel.
PROBES = (("police training against migrant smuggling", "hybrid"), ("petroleum sector travel", "dense"),
          ("Costa Rica Panama", "lexical"))


AUDIT = ROOT / "tests" / "audit"  # its sitecustomize records what a process does that leaves it


def audited_env(log: Path, **changes: str) -> dict[str, str]:
    """The environment for a process whose calls out, writes and library loads go to `log` as JSON lines
    (`tests/audit/sitecustomize.py`); `changes` set or (given as "") remove variables."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(AUDIT), str(ROOT)]), "STORY_SEARCH_AUDIT_LOG": str(log)}
    for name, value in changes.items():
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    return env


def audit_events(log: Path, kind: str) -> list[Any]:
    """What the audited processes logged of one kind (`lookup`, `connect`, `write`, `load`)."""
    if not log.exists():
        return []
    events = (json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line)
    return [e["what"] for e in events if e["kind"] == kind]


def free_port() -> int:
    """A port free on 127.0.0.1 a moment ago, for a server process to bind."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, server: subprocess.Popen[bytes], timeout: float = 180) -> None:
    """Until `url` answers 200, failing at once if the server process ends instead."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        assert server.poll() is None, f"the server stopped (exit {server.returncode})"
        assert time.monotonic() < deadline, f"{url} did not answer within {timeout:.0f} s"
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)


def cli(*args: str, index: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m search ARGS` as a user runs it, in a real process; `index` sets $STORY_SEARCH_INDEX."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if index is not None:
        env["STORY_SEARCH_INDEX"] = str(index)
    return subprocess.run([sys.executable, "-m", "search", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


class FailingAfter(Embedder):
    """Embeds like `real`, then dies after `limit` texts (raising `error`), as a killed or interrupted build or
    add would."""

    def __init__(self, real: Embedder, limit: int, error: type[BaseException] = RuntimeError) -> None:
        super().__init__()
        self.real, self.limit, self.error = real, limit, error
        self.model_id, self.dim = real.model_id, real.dim

    @property
    def dims(self) -> tuple[int, ...]:
        return self.real.dims

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        if self.texts_embedded + len(texts) > self.limit:
            raise self.error("killed")
        return self.real.embed(texts, kind)


def answers(service: Any, k: int = 5) -> list[list[tuple[str, float]]]:
    """Ids and rounded scores of every probe's hits: equal answers mean an identical, intact index."""
    return [[(h.story.id, round(h.score, 5)) for h in service.search(q, k, mode).hits] for q, mode in PROBES]


def assert_clean_error(stderr: str, *needles: str) -> None:
    """A CLI failure a person can act on: a one-line `error:` message (or argparse usage), no traceback."""
    assert "Traceback" not in stderr, stderr
    for needle in needles:
        assert needle in stderr, stderr


def assert_api_error(response: Any, status: int, code: str | None = None) -> str:
    """A refusal in the API's one error shape: the status, exactly `{"error": {"code", "message"}}` as JSON,
    no traceback, a message rather than an echo of the request. Returns the message."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert "Traceback" not in response.text and 'File "' not in response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"].strip()
    assert code is None or error["code"] == code, error
    assert len(error["message"]) < 500, error
    return error["message"]


# --- vectors -------------------------------------------------------------------------------------------------
def clustered(n: int, dim: int = 64, clusters: int = 50, spread: float = 0.35, seed: int = 0) -> np.ndarray:
    """Synthetic unit vectors with cluster structure, like sentence embeddings (random Gaussians are not)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + spread * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def vector_keys(n: int, seed: int = 1) -> np.ndarray:
    """Distinct int64 keys spread like the hash-derived story keys."""
    rng = np.random.default_rng(seed)
    return np.unique(rng.integers(1, 2**62, n * 2, dtype=np.int64))[:n][rng.permutation(n)]


def exact_top(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-(queries @ vectors.T), axis=1)[:, :k]
    return ids[order]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found.tolist(), truth.tolist())]))


def seed_case(service: Any, dev_queries: Path) -> dict[str, np.ndarray]:
    """The seed corpus's vectors, the dev questions' vectors and two filters: what every engine is checked on.

    keys, vectors, queries, and the allowed keys of a country filter and of every other story."""
    from search import Filters

    index = service.index
    rows = np.flatnonzero(index.live)
    questions = [json.loads(line)["query"] for line in dev_queries.read_text(encoding="utf-8").splitlines() if line]
    country = Counter(c for s in index.stories for c in s.countries).most_common(1)[0][0]
    keys = index.keys_at(rows)
    return {"keys": keys, "vectors": index.vectors_at(rows),
            "queries": np.stack([service.query_vector(q) for q in questions]),
            "country": index.keys_at(Filters(countries=(country,)).allowed_rows(index.columns)),
            "alternate": keys[::2]}


def assert_same_top(found: tuple[np.ndarray, np.ndarray], expected: tuple[np.ndarray, np.ndarray]) -> None:
    """Same ids with the same scores; ids whose scores tie may swap places."""
    (scores, ids), (want_scores, want_ids) = found, expected
    assert ids.shape == want_ids.shape
    for row in range(len(ids)):
        assert sorted(ids[row].tolist()) == sorted(want_ids[row].tolist()), f"query {row}"
        np.testing.assert_allclose(scores[row], want_scores[row], atol=1e-4)


# --- the web page in a browser (Playwright pages are passed in; this module does not import Playwright) ---------
WAIT_MS = 60_000  # a ceiling, not a wait: every step waits on the page being ready or on what it shows
DESKTOP: ViewportSize = {"width": 1600, "height": 1000}
PHONE: ViewportSize = {"width": 390, "height": 844}
QUESTION_LABEL = {"en": "Your question", "es": "Tu pregunta"}


def attribute(element: Locator, name: str) -> str:
    """An attribute the page must have set: Playwright answers None for a missing one."""
    value = element.get_attribute(name)
    assert value is not None, f"the element has no {name}"
    return value


def ask(page: Any, question: str, language: str = "en") -> None:
    """Type a question in the page's question box and press Enter, as a person does."""
    box = page.get_by_label(QUESTION_LABEL[language])
    box.fill(question)
    box.press("Enter")


def set_date(page: Any, box: str, typed: str) -> None:
    """Type into a date box (#date-from or #date-to) and press Enter."""
    field = page.locator(f"#{box} input, #{box} textarea").first
    field.fill(typed)
    field.press("Enter")


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def every_process_model() -> Any:
    """`pytestmark = every_process_model()`: a browser test module whose tests must hold with several server
    processes runs each twice, against one process and against `serve --workers 2`."""
    import pytest

    return pytest.mark.parametrize("browser", [1, 2], indirect=True, ids=["one-process", "two-workers"])


def launch_browser(service: Any, workers: int = 1) -> Iterator[tuple[str, Any]]:
    """Serve `service` as `serve --workers N` does and start Debian's Chromium: yields (base URL, browser) for
    a module.

    Never `playwright install` (it downloads a browser); `make test` installs Debian's chromium when missing."""
    import pytest

    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need Playwright's Python "
                                   "package (pip install playwright; it is in the `test` extra)")
    from search.serving import serve_in_background

    if not CHROMIUM.exists():
        pytest.skip(f"BROWSER TEST SKIPPED: no Chromium at {CHROMIUM}; install it with "
                    "`apt-get install chromium` (as root, `make test` does this)")
    with serve_in_background(service, workers=workers) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield url, browser
        browser.close()


# --- a server of several processes (`serve_in_background(..., workers=N)`) ------------------------------------------
def serving_processes() -> dict[str, int]:
    """The processes of the multi-process server that `serve_in_background` started from this test process,
    by the name each gives itself (story-home, story-worker-1, ...): pid."""
    import multiprocessing

    supervisors = [p.pid for p in multiprocessing.active_children() if p.name == "story-search serve"]
    assert len(supervisors) == 1, supervisors
    return {(stat.parent / "comm").read_text().strip(): int(stat.parent.name)
            for stat in Path("/proc").glob("[0-9]*/stat") if _parent_of(stat) == supervisors[0]}


def _parent_of(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):  # a process that ended while the folder was listed
        return None


def cpu_ticks(pid: int) -> int:
    """User and system CPU time the process has used, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
