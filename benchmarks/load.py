"""Load test of the HTTP API: many concurrent clients for a fixed time against a server on loopback.

    python -m benchmarks.load [--index-dir index] [--clients 32] [--duration 30] [--writes 10]
    python -m benchmarks.load --url http://127.0.0.1:7860   # a server started with `python -m search serve`
    python -m benchmarks.load --workers 1 2 --rounds 3 --writes 10   # `serve --workers N` side by side

Without --url the real app (API and UI, as `serve` builds it, merging in the background and keeping up with
its folder) runs under uvicorn on 127.0.0.1 in this process, on a free port, over a copy of the index. Each
client is a thread with its own keep-alive connection sending a mix of reads (searches by GET and POST, story
lookups, related stories, health) and, with `--writes N`, N % adds of a new story, until the time or the
request budget is spent. Reports requests/s, latency percentiles overall and per endpoint, every error (any
non-2xx answer or failed connection) and, after writes, whether the index reopened from disk holds exactly
the stories the acknowledged writes left; writes JSON to benchmarks/results/load.json. Only loopback
addresses are accepted: this is a test of our server, not a tool to load anyone else's.

With `--workers A B ...` each count gets a `python -m search serve --workers N` process of its own over a
copy of the index, started side by side; the load runs against them in turn, `--rounds` times in
alternating order, so machine noise falls on every server alike. Each server is then stopped, its copy
reopened from disk and its story count checked against the adds it acknowledged; the figures per server are
the median round's requests/s and the percentiles of every request of every round.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from search.serving import serve_in_background

from .common import process_memory

RESULTS = Path(__file__).resolve().parent / "results" / "load.json"
FIXED_QUESTIONS = ("migrant smuggling training for police", "returns of migrants from Libya",
                   "floods displaced families shelter", "labour migration remittances", "tráfico de migrantes",
                   "health screening at the border", "climate change and migration", "counter trafficking hotline")
# (name, weight): the share of each kind of read in the mix, searches first as in real use.
READS = (("search_get", 45), ("search_post", 20), ("story", 15), ("similar", 10), ("health", 10))
NEWS_WORDS = ("coast guards trained rescue migrants sea shelter families border health workers permits "
              "return reintegration data statistics ministries radio campaign risks journeys ferry crews").split()


@dataclass
class Tally:
    """One client's results; merged after the run so the clients share no lock while measuring."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    added: set[str] = field(default_factory=set)  # ids of the stories the server acknowledged adding


def require_loopback(url: str) -> str:
    """The URL, if it names a loopback address literally (no DNS lookup that could point elsewhere)."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to load {url}: only loopback servers (127.0.0.0/8, ::1, localhost) are tested")
    return url.rstrip("/")


def _workload(base: str) -> tuple[list[str], list[str]]:
    """Questions (fixed ones plus words from real titles) and story ids, read from the server itself."""
    with httpx.Client(base_url=base, timeout=30) as http:
        stories = http.get("/api/stories", params={"limit": 1000}).raise_for_status().json()["stories"]
    titles = [" ".join(s["title"].split()[:6]) for s in stories if s["title"]]
    return [*FIXED_QUESTIONS, *titles], [s["id"] for s in stories]


def _client(base: str, seed: int, questions: list[str], ids: list[str], stop_at: float, budget: _Budget,
            tally: Tally, writes: int, token: str | None) -> None:
    rng = random.Random(seed)
    names, weights = zip(*READS, ("add", sum(w for _, w in READS) * writes / max(1, 100 - writes)))
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base, timeout=30) as http:
        while time.monotonic() < stop_at and budget.take():
            kind = rng.choices(names, weights)[0]
            q, story_id = rng.choice(questions), rng.choice(ids)
            story = {"title": f"Load test story {seed}-{rng.getrandbits(40)}",
                     "body": " ".join(rng.choices(NEWS_WORDS, k=40)) + "."}
            requests: dict[str, tuple[str, str, dict[str, Any]]] = {
                "search_get": ("GET", "/api/search", dict(params={"q": q, "k": 10})),
                "search_post": ("POST", "/api/search",
                                dict(json={"q": q, "k": 5, "mode": rng.choice(["hybrid", "dense", "lexical"])})),
                "story": ("GET", f"/api/stories/{story_id}", {}),
                "similar": ("GET", f"/api/stories/{story_id}/similar", dict(params={"k": 5})),
                "health": ("GET", "/api/health", {}),
                "add": ("POST", "/api/stories", dict(json=story, headers=auth)),
            }
            request = requests[kind]
            started = time.perf_counter()
            try:
                response = http.request(request[0], request[1], **request[2])
                ok, detail = response.is_success, f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                ok, detail = False, repr(exc)
            tally.latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
            if not ok:
                tally.errors.append(f"{request[0]} {request[1]}: {detail}")
            elif kind == "add":
                tally.added.update(response.json()["ids"])


class _Budget:
    """The run's request count cap, shared by the clients."""

    def __init__(self, total: int) -> None:
        self._left, self._lock = total, threading.Lock()

    def take(self) -> bool:
        with self._lock:
            self._left -= 1
            return self._left >= 0


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"count": len(values), "p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2),
            "p99_ms": round(float(p99), 2), "max_ms": round(max(values), 2)}


def run_load(base: str, clients: int = 32, duration: float = 30.0, max_requests: int = 100_000, writes: int = 0,
             token: str | None = None, keep_latencies: bool = False) -> dict[str, Any]:
    """Drive the API at `base` with `clients` concurrent clients, `writes` % of requests adds; the report (with
    every request's milliseconds by kind, when `keep_latencies`)."""
    base = require_loopback(base)
    load_before = os.getloadavg()[0]  # other work on the machine shows up in the latencies: record it
    questions, ids = _workload(base)
    tallies = [Tally() for _ in range(clients)]
    budget = _Budget(max_requests)
    started = time.monotonic()
    threads = [threading.Thread(target=_client, args=(base, i, questions, ids, started + duration, budget, tallies[i],
                                                      writes, token)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 120)  # a request in flight at the deadline may take its full timeout
    elapsed = time.monotonic() - started
    by_kind: dict[str, list[float]] = {}
    for tally in tallies:
        for kind, values in tally.latencies.items():
            by_kind.setdefault(kind, []).extend(values)
    everything = [v for values in by_kind.values() for v in values]
    errors = [e for tally in tallies for e in tally.errors]
    return {"clients": clients, "duration_s": round(elapsed, 2), "requests": len(everything),
            "requests_per_s": round(len(everything) / elapsed, 1), "errors": len(errors), "error_samples": errors[:5],
            "latency": _percentiles(everything),
            "by_endpoint": {k: _percentiles(v) for k, v in sorted(by_kind.items())},
            "stories": len(ids), "questions": len(questions), "writes_percent": writes,
            "stories_added": len(set().union(*(t.added for t in tallies)) - set(ids)),
            "machine": {"cpus": os.cpu_count(), "load_avg_1m_before": round(load_before, 2)},
            **({"latencies": by_kind} if keep_latencies else {})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=None, help="a running server on loopback (default: start one here)")
    parser.add_argument("--index-dir", type=Path, default=None, help="index to serve when starting one here")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds (at most 600)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many requests")
    parser.add_argument("--writes", type=int, default=0, help="percent of requests that add a story (0-50)")
    parser.add_argument("--workers", type=int, nargs="+", default=None, metavar="N",
                        help="compare `serve --workers N` servers side by side (started here, each over a copy)")
    parser.add_argument("--rounds", type=int, default=3, help="with --workers: runs against each server")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 256 and 0 < args.duration <= 600 and args.max_requests >= 1
            and 0 <= args.writes <= 50 and 1 <= args.rounds <= 20
            and all(1 <= n <= 64 for n in args.workers or [1])):
        parser.error("clients must be 1-256, duration 0-600 s, max-requests at least 1, writes 0-50 %, "
                     "rounds 1-20, workers 1-64")
    if args.workers:
        report = compare_workers(args)
        report["command"] = "python -m benchmarks.load " + " ".join(argv if argv is not None else sys.argv[1:])
        report["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        out = args.out if args.out != RESULTS else RESULTS.with_name("load-workers.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        _print_comparison(report, out)
        return 0 if all(s["errors"] == 0 and s["count_exact"] for s in report["servers"].values()) else 1
    if args.url:
        report = run_load(args.url, args.clients, args.duration, args.max_requests, args.writes,
                          os.environ.get("STORY_SEARCH_TOKEN"))
        report["server"] = args.url
    else:
        report = _run_here(args)
    report["command"] = "python -m benchmarks.load " + " ".join(argv if argv is not None else sys.argv[1:])
    report["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lat = report["latency"]
    print(f"{report['requests']} requests in {report['duration_s']} s from {report['clients']} clients: "
          f"{report['requests_per_s']} req/s, p50 {lat.get('p50_ms')} ms, p99 {lat.get('p99_ms')} ms, "
          f"{report['errors']} errors -> {args.out}", file=sys.stderr)
    for sample in report["error_samples"]:
        print(f"  error: {sample}", file=sys.stderr)
    return 0 if report["errors"] == 0 else 1


def _run_here(args: argparse.Namespace) -> dict[str, Any]:
    """Serve a copy of the index in this process (writes change only the copy), load it, then reopen the copy
    from disk and check it holds exactly what the acknowledged writes left."""
    from search.collection import default_index_dir, load_index
    from search.serving import load_service

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        root = Path(tmp) / "index"
        shutil.copytree(args.index_dir or default_index_dir(), root)
        token = secrets.token_urlsafe(16)
        os.environ["STORY_SEARCH_TOKEN"] = token  # read once, when the app is made
        service = load_service(root)
        before = len(service.index)
        with serve_in_background(service, wait_for_ui=False) as url:
            report = run_load(url, args.clients, args.duration, args.max_requests, args.writes, token)
        while service.merging:  # a merge the writes set off commits before the index is reopened
            time.sleep(0.1)
        service.close()
        reopened = len(load_index(root))
        report["server"] = "in-process uvicorn on 127.0.0.1 (create_app, one process)"
        report["index"] = {"model": service.index.model_id, "index_type": service.index.store.kind,
                           "stories_before": before, "stories_reopened": reopened,
                           "count_exact": reopened == before + report["stories_added"]}
    return report


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(root: Path, workers: int, token: str, log: Path) -> tuple[subprocess.Popen, str]:
    """`python -m search serve --workers N` over `root` on a free loopback port; (process, URL) once it answers."""
    port = _free_port()
    env = {**os.environ, "STORY_SEARCH_TOKEN": token, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "search", "serve", "--index-dir", str(root), "--port", str(port),
                                "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                               stderr=log.open("w"), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(url + "/api/health", timeout=10).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"serve --workers {workers} did not start; see {log}")
        time.sleep(0.2)


def _stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _pooled(reports: list[dict[str, Any]], kind: str | None = None) -> dict[str, float]:
    values = [v for r in reports for k, vs in r["latencies"].items() if kind is None or k == kind for v in vs]
    return _percentiles(values)


def compare_workers(args: argparse.Namespace) -> dict[str, Any]:
    """Servers of each worker count side by side over copies of one index, loaded in turn (see the docstring)."""
    from search.collection import default_index_dir, load_index

    token = secrets.token_urlsafe(16)
    counts = list(dict.fromkeys(args.workers))
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        servers: dict[int, dict[str, Any]] = {}
        for n in counts:
            root = Path(tmp) / f"index-{n}"
            shutil.copytree(args.index_dir or default_index_dir(), root)
            process, url = _start_server(root, n, token, Path(tmp) / f"serve-{n}.log")
            servers[n] = {"process": process, "url": url, "root": root, "before": len(load_index(root)),
                          "rounds": []}
        try:
            for r in range(args.rounds):
                for n in counts if r % 2 == 0 else counts[::-1]:
                    report = run_load(servers[n]["url"], args.clients, args.duration, args.max_requests, args.writes,
                                      token, keep_latencies=True)
                    servers[n]["rounds"].append(report)
                    print(f"round {r + 1}, {n} worker(s): {report['requests_per_s']} req/s, "
                          f"{report['errors']} errors, load {report['machine']['load_avg_1m_before']}", file=sys.stderr)
            for n in counts:
                servers[n]["memory"] = process_memory(servers[n]["process"].pid)
        finally:
            for server in servers.values():
                _stop_server(server["process"])
        summary = {}
        for n, server in servers.items():
            rounds = server["rounds"]
            added = sum(r["stories_added"] for r in rounds)
            reopened = len(load_index(server["root"]))
            per_s = sorted(r["requests_per_s"] for r in rounds)
            summary[str(n)] = {
                "workers": n, "requests_per_s_median": per_s[len(per_s) // 2], "requests_per_s": per_s,
                "errors": sum(r["errors"] for r in rounds),
                "error_samples": [e for r in rounds for e in r["error_samples"]][:5],
                "all": _pooled(rounds), "reads": _pooled([{"latencies": {k: v for k, v in r["latencies"].items()
                                                                         if k != "add"}} for r in rounds]),
                "searches": _pooled([{"latencies": {k: v for k, v in r["latencies"].items()
                                                    if k.startswith("search")}} for r in rounds]),
                "adds": _pooled(rounds, "add"), "stories_before": server["before"], "stories_added": added,
                "stories_reopened": reopened, "count_exact": reopened == server["before"] + added,
                "load_avg_1m": [r["machine"]["load_avg_1m_before"] for r in rounds], "memory": server["memory"],
            }
    base = summary[str(counts[0])]["requests_per_s_median"]
    for row in summary.values():
        row["speedup"] = round(row["requests_per_s_median"] / base, 2) if base else None
    return {"clients": args.clients, "duration_s": args.duration, "rounds": args.rounds, "writes_percent": args.writes,
            "servers": summary, "machine": {"cpus": os.cpu_count(), "load_avg_1m_after": round(os.getloadavg()[0], 2)}}


def _print_comparison(report: dict[str, Any], out: Path) -> None:
    print(f"{'workers':>7} {'req/s':>7} {'x':>5} {'errors':>6} {'read p50/p99 ms':>16} {'add p50/p99 ms':>15} "
          f"{'count':>6}", file=sys.stderr)
    for row in report["servers"].values():
        reads, adds = row["reads"], row["adds"]
        print(f"{row['workers']:>7} {row['requests_per_s_median']:>7} {row['speedup']:>5} {row['errors']:>6} "
              f"{reads.get('p50_ms')!s:>7}/{reads.get('p99_ms')!s:<8} "
              f"{adds.get('p50_ms')!s:>6}/{adds.get('p99_ms')!s:<8} {'exact' if row['count_exact'] else 'WRONG':>6}",
              file=sys.stderr)
    print(f"-> {out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
