"""Which names the server answers to, and whose forwarded headers it believes.

A page on any site can point its own DNS name at 127.0.0.1 (DNS rebinding) and then read this server as
"same origin", so closed CORS alone protects nothing: the Host header is the one thing such a page cannot
choose. Requests for a host outside the allowlist get a 421 before they reach any route. Forwarded headers
(`X-Forwarded-Host`, `-Proto`, `-For`, `Forwarded`) would let any client choose the host and scheme that
Gradio writes into its config, so they are dropped unless the connection comes from a configured proxy;
from one, the forwarded host must be allowed too, and uvicorn's own middleware applies `-For` and `-Proto`.
"""
from __future__ import annotations

from typing import Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from ._settings import Settings, host_name
from .api import error_response

_FORWARDED = frozenset({b"forwarded", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto",
                        b"x-forwarded-port", b"x-forwarded-prefix", b"x-real-ip"})


class HostGuard:
    """Refuse requests for hosts outside `settings.allowed_hosts` (421); apply forwarded headers only from
    `settings.trusted_proxies`."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.allowed = settings.allowed_hosts
        # Typed as Any: uvicorn types ASGI apps more narrowly than Starlette does, for the same callables.
        self.proxies: Any = ProxyHeadersMiddleware(cast(Any, app), trusted_hosts=list(settings.trusted_proxies)) \
            if settings.trusted_proxies else None
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        trusted = self.proxies is not None and _peer(scope) in self.proxies.trusted_hosts
        if not trusted:
            headers = [(name, value) for name, value in headers if name not in _FORWARDED]
        asked = [value for name, value in headers if name in (b"host", b"x-forwarded-host")]
        if not asked or not all(self._allows(value) for value in asked):
            response = error_response(421, "unknown_host", "this request names no host this server answers to; "
                                      "reach it as 127.0.0.1 or localhost, or ask its operator to add the "
                                      "name to STORY_SEARCH_ALLOWED_HOSTS")
            await response(scope, receive, send)
            return
        inner = self.proxies if trusted else self.app
        await inner({**scope, "headers": headers}, receive, send)

    def _allows(self, value: bytes) -> bool:
        """Each name of a header (a forwarded host may list a chain of them) must be allowed."""
        names = [host_name(part) for part in value.decode("latin-1").split(",")]
        return all(name in self.allowed for name in names)


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else ""
