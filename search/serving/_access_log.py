"""The access log names each request's path and its query parameters' names, never their values.

uvicorn logs the whole target of every request. Its query string holds the questions people ask (what
someone searched for is about them, and about the people they work with), and whatever a client puts there
by mistake, such as a write token. So a line reads `GET /api/search?q=…&k=… 200`: enough to see what was
called and how, nothing of what was asked.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl

ACCESS_LOGGER = "uvicorn.access"
HIDDEN = "…"
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,31}")
_PATH = 2  # uvicorn's access record: (client, method, path with query, HTTP version, status)


def without_values(target: str) -> str:
    """`target` (a path with its query string) with every query value replaced by `HIDDEN`, and every name
    that does not look like a parameter's (a token sent as a bare query string, say) too."""
    path, _, query = target.partition("?")
    if not query:
        return target
    names = [name if NAME.fullmatch(name) else HIDDEN for name, _ in parse_qsl(query, keep_blank_values=True)]
    return f"{path}?{'&'.join(f'{name}={HIDDEN}' for name in names) or HIDDEN}"


class QueryValuesHidden(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > _PATH and isinstance(target := args[_PATH], str):
            record.args = (*args[:_PATH], without_values(target), *args[_PATH + 1:])
        return True


def hide_query_values(logger: logging.Logger) -> None:
    """Install the filter on `logger` once (uvicorn's access logger, in each server process)."""
    if not any(isinstance(f, QueryValuesHidden) for f in logger.filters):
        logger.addFilter(QueryValuesHidden())
