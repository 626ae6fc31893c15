"""How long a connection may take to send its request and how many may be open at once, in each server process.

uvicorn waits as long as a client likes and keeps every socket it accepts: a client that connects and says
nothing, sends its headers a byte at a time (slowloris) or its body a byte a minute holds a socket and a file
descriptor for good, and enough of them fill the process's descriptors (new clients hang, asyncio logs "Too
many open files" on every accept). So every connection, in every worker process, gets:

- a deadline for a request's headers, `header_timeout` seconds from when the connection opened or its
  previous answer was sent; bytes trickling in do not extend it;
- a deadline for the body, `body_timeout` seconds from the headers to its last byte;
- on keep-alive, closing once idle `idle_timeout` seconds after its last answer (uvicorn's own timer);
- a cap, `max_connections` open at once. Past it, the connection that has waited longest for its next
  request is closed to make room (silent, slowloris and idle connections go first), so a flood of them
  cannot keep a new client out; only when every open connection is busy with a request is the new one
  refused at once, with a 503 in the error shape.

A deadline missed with part of a request sent is answered with a 408 in the error shape, a connection that
sent nothing is closed without a word. What was closed or refused is logged at most once a minute, with
counts, so a flood cannot fill the log either.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import resource
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import h11

from ..errors import ConfigError
from ._access_log import hide_query_values
from ._protocol import JsonErrorH11Protocol, error_bytes

log = logging.getLogger(__name__)

SETTINGS = {"max_connections": ("STORY_SEARCH_MAX_CONNECTIONS", int), "header_timeout": ("STORY_SEARCH_HEADER_TIMEOUT",
            float), "body_timeout": ("STORY_SEARCH_BODY_TIMEOUT", float), "idle_timeout": ("STORY_SEARCH_IDLE_TIMEOUT",
                                                                                          float)}
SPARE_DESCRIPTORS = 256  # what the process needs besides connections: model and index files, pipes, threads
LINGER = 1.0  # seconds a refused connection is read and discarded, so the client gets its 503 instead of a reset
NOTE_EVERY = 60.0


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 1000
    header_timeout: float = 10.0  # a request line and headers take well under a second on any network in use
    body_timeout: float = 30.0  # the 1 MB body cap at 33 KB/s
    idle_timeout: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConnectionLimits:
        """The limits $STORY_SEARCH_MAX_CONNECTIONS, ..._HEADER_TIMEOUT, ..._BODY_TIMEOUT and ..._IDLE_TIMEOUT
        set (seconds), the defaults for the rest; a value that cannot work is a `ConfigError` naming it."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field, (name, kind) in SETTINGS.items():
            text = env.get(name, "").strip()
            if not text:
                continue
            try:
                values[field] = kind(text)
            except ValueError:
                values[field] = 0
            if not 0 < values[field] < 1e6:
                raise ConfigError(f"{name} must be a positive {'whole number' if kind is int else 'number of seconds'}"
                                  f", got {text!r}")
        return cls(**values)

    def within_descriptors(self) -> ConnectionLimits:
        """These limits with room for every connection in the process's file descriptors: the soft limit is
        raised as far as the hard one allows, and the cap lowered if that is not far enough."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = self.max_connections + SPARE_DESCRIPTORS
        if soft != resource.RLIM_INFINITY and soft < wanted:
            soft = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        if soft == resource.RLIM_INFINITY or soft >= wanted:
            return self
        cap = max(16, soft - SPARE_DESCRIPTORS)
        log.warning("at most %d connections at once: the process may open %d files (ulimit -n)", cap, soft)
        return replace(self, max_connections=cap)


def uvicorn_options(limits: ConnectionLimits | None = None) -> dict[str, Any]:
    """Options for `uvicorn.Config`/`uvicorn.run` that every way of serving shares: this module's protocol
    with `limits` (default: the environment's), for each worker process.

    Forwarded headers are applied by the app's `HostGuard`, from configured proxies only (uvicorn's default
    believes any loopback client); WebSocket upgrades are off, as neither the API nor the page uses them.
    """
    limits = (limits or ConnectionLimits.from_env()).within_descriptors()
    return {"http": functools.partial(BoundedH11Protocol, limits=limits), "ws": "none", "proxy_headers": False,
            "timeout_keep_alive": limits.idle_timeout}


class _Notes:
    """Counts of connections closed or refused, logged at most once a minute."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.logged = -NOTE_EVERY

    def add(self, what: str, limits: ConnectionLimits) -> None:
        self.counts[what] += 1
        now = time.monotonic()
        if now - self.logged >= NOTE_EVERY:
            log.warning("connections (at most %d open; headers due in %gs, bodies in %gs): %s",
                        limits.max_connections, limits.header_timeout, limits.body_timeout,
                        ", ".join(f"{n} {w}" for w, n in sorted(self.counts.items())))
            self.counts.clear()
            self.logged = now


_notes = _Notes()


class BoundedH11Protocol(JsonErrorH11Protocol):
    """uvicorn's HTTP/1.1 protocol with the deadlines and the cap above."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hide_query_values(self.access_logger)  # in every worker process, after uvicorn configured its logging
        self.limits = limits
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = ""  # "headers" or "body": what the deadline is for
        self._waiting_since = 0.0
        self._refused = False

    # --- admission --------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            self._refuse()
            return
        self._expect_request()

    def _make_room(self) -> bool:
        """Close the connection that has waited longest for a request; False when all are busy with one."""
        waiting = [c for c in self.connections if c is not self and isinstance(c, BoundedH11Protocol) and c.waiting()]
        if not waiting:
            return False
        min(waiting, key=lambda c: c._waiting_since).close(reason="closed to make room")
        return True

    def _refuse(self) -> None:
        """Answer 503 and close, reading what the client sends meanwhile: a socket closed with unread bytes is
        reset, and a reset can overtake the answer."""
        self._refused = True
        self.connections.discard(self)
        self.transport.write(error_bytes(503, "too_many_connections", (
            f"the server has {self.limits.max_connections} connections open, all busy; try again in a moment"),
            (("retry-after", "1"),)))
        self.transport.write_eof()
        self.loop.call_later(LINGER, self.transport.close)
        _notes.add("refused (all busy)", self.limits)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    # --- deadlines -------------------------------------------------------------------------------------------
    def waiting(self) -> bool:
        """Between requests: none is being read past its headers, answered or streamed."""
        return not self._refused and not self.transport.is_closing() and self.conn.their_state is h11.IDLE \
            and (self.cycle is None or self.cycle.response_complete)

    def _expect_request(self) -> None:
        self._waiting_since = self.loop.time()
        self._arm("headers", self.limits.header_timeout)

    def handle_events(self) -> None:
        super().handle_events()
        if self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state is h11.SEND_BODY:
            if self._phase != "body":
                self._arm("body", self.limits.body_timeout)
        elif not self.waiting():
            self._disarm()  # the request is in: the app has it, however long it takes

    def on_response_complete(self) -> None:
        super().on_response_complete()  # arms the keep-alive timer; may start a pipelined request
        if self.waiting():
            self._expect_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._phase = None, ""

    def _late(self) -> None:
        phase, self._deadline, self._phase = self._phase, None, ""
        if self.transport.is_closing():
            return
        if phase == "headers" and self.waiting():
            partial = bool(self.conn.trailing_data[0])  # some of a request came, not all its headers
        elif phase == "body" and self.conn.their_state is h11.SEND_BODY:
            partial = not (self.cycle is not None and self.cycle.response_started)  # else the app has answered
        else:
            return
        if not partial:
            self.close(reason=f"closed idle ({phase})")
            return
        seconds = self.limits.header_timeout if phase == "headers" else self.limits.body_timeout
        self.transport.write(error_bytes(408, "request_timeout", f"the request's {phase} took longer than "
                                         f"{seconds:g} s to arrive; send the whole request at once"))
        self.close(reason=f"timed out ({phase})")

    def close(self, reason: str) -> None:
        """Close this connection now; a request the app is reading learns its client is gone."""
        self._disarm()
        self.connections.discard(self)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()
        _notes.add(reason, self.limits)
