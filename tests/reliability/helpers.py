"""Helpers shared by the reliability tests: answers to compare and checks on what a user sees."""
from __future__ import annotations

# Questions whose answers are compared before and after crashes and updates: one per search channel.
PROBES = (("police training against migrant smuggling", "hybrid"), ("petroleum sector travel", "dense"),
          ("Costa Rica Panama", "lexical"))


def answers(service, k: int = 5) -> list[list[tuple[str, float]]]:
    """Ids and rounded scores of every probe's hits: equal answers mean an identical, intact index."""
    return [[(h.story.id, round(h.score, 5)) for h in service.search(q, k, mode).hits] for q, mode in PROBES]


def assert_clean_error(stderr: str, *needles: str) -> None:
    """A CLI failure a person can act on: a one-line `error:` message (or argparse usage), no traceback."""
    assert "Traceback" not in stderr, stderr
    for needle in needles:
        assert needle in stderr, stderr


def assert_api_error(response, status: int, code: str | None = None) -> dict:
    """A refusal in the API's one error format: the status, JSON `{"error": {"code", "message"}}`, no trace."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert "Traceback" not in response.text and 'File "' not in response.text
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"].strip()
    assert code is None or error["code"] == code, error
    assert len(error["message"]) < 500, error  # a message, not an echo of the request
    return error
