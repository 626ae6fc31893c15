"""How uvicorn runs the app: its HTTP/1.1 protocol answering malformed requests in the API's error shape.

A request h11 cannot parse (a `Content-Length` of "abc" or "-1", a broken request line, oversized headers)
never reaches the app: uvicorn refuses it itself, in plain text. This subclass sends the same 400 as
`{"error": {"code", "message"}}`, so even those clients get the one error shape. The protocol is named
explicitly (not uvicorn's "auto"), so installing httptools cannot silently bring the plain text back.
"""
from __future__ import annotations

import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MALFORMED = json.dumps({"error": {"code": "invalid_http", "message": (
    "the request is not valid HTTP/1.1: check the request line and headers (Content-Length must be the "
    "body's size in bytes, a whole number)")}}).encode()


class JsonErrorH11Protocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(MALFORMED)).encode()),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=MALFORMED),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


def uvicorn_options() -> dict[str, Any]:
    """Options for `uvicorn.Config`/`uvicorn.run` that every way of serving shares.

    Forwarded headers are applied by the app's `HostGuard`, from configured proxies only (uvicorn's default
    believes any loopback client); WebSocket upgrades are off, as neither the API nor the page uses them.
    """
    return {"http": JsonErrorH11Protocol, "ws": "none", "proxy_headers": False}
