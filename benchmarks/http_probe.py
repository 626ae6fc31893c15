"""Times searches through HTTP from a process of its own, as a real client is.

    python -m benchmarks.http_probe URL MODE K ROUNDS < questions.json   # prints a JSON list of milliseconds

A client in the server's own process shares its interpreter and measures their contention, not HTTP.
"""
from __future__ import annotations

import functools
import json
import sys

import httpx

from .common import timed


def main() -> None:
    url, mode, k, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    questions = json.load(sys.stdin)
    with httpx.Client(base_url=url, timeout=30) as client:
        def ask(question: str) -> None:
            client.get("/api/search", params={"q": question, "k": k, "mode": mode}).raise_for_status()

        ask(questions[0])  # warm: connection and code paths
        print(json.dumps([timed(functools.partial(ask, q)) for _ in range(rounds) for q in questions]))


if __name__ == "__main__":
    main()
