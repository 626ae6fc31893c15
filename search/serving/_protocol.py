"""uvicorn's HTTP/1.1 protocol answering malformed requests in the API's error shape.

A request h11 cannot parse (a `Content-Length` of "abc" or "-1", a broken request line, oversized headers)
never reaches the app: uvicorn refuses it itself, in plain text. This subclass sends the same 400 as
`{"error": {"code", "message"}}`, so even those clients get the one error shape. The protocol is named
explicitly (not uvicorn's "auto", see `connections.uvicorn_options`), so installing httptools cannot
silently bring the plain text back.
"""
from __future__ import annotations

import http
import json

from uvicorn.protocols.http.h11_impl import H11Protocol

MALFORMED = ("invalid_http", "the request is not valid HTTP/1.1: check the request line and headers (Content-Length "
             "must be the body's size in bytes, a whole number)")


def error_bytes(status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A whole HTTP/1.1 response in the error shape that closes its connection, for answers written straight
    to the socket: before a request was read, or instead of the app's answer."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}", "content-type: application/json",
             f"content-length: {len(body)}", "connection: close", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class JsonErrorH11Protocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        self.transport.write(error_bytes(400, *MALFORMED))
        self.transport.close()
