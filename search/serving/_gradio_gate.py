"""Which of Gradio's routes a client may use, and with what: the page's own requests, checked before Gradio
sees them.

Gradio answers many client mistakes with a 500 and a long traceback in the log: a call with too few values
or values of the wrong type, an unknown function index or name, a component that is not there, text that
is not Unicode, a stream for a session or event it does not know (that one fails after answering 200). Some
of its routes do what this server must not: `file=<url>` fetches any address on the internet, `heartbeat`
holds a connection open for as long as a client likes. So the gate lets through the routes the page and
`gradio_client` use, each request checked against the page's own event functions and components, and
answers everything else with a 4xx in the error shape and no traceback:

- GET: the page and its assets, `/config`, `/gradio_api/info`, the stream of a session that has events
  (`queue/data`) and the result stream of a known event (`call/NAME/EVENT`);
- POST: `queue/join` and the named calls (`call|run|api/NAME`) with one value per input of the function,
  each of the type its component takes; `cancel`; `component_server` for a function a component registered.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import _bounded_json
from .api import error_response, read_body, replaying

PAGES = frozenset({"/", "/config", "/config/", "/gradio_api/info", "/gradio_api/info/", "/theme.css", "/favicon.ico"})
ASSETS = ("/assets/", "/static/")
CALLS = re.compile(r"/gradio_api/(?P<route>call|run|api)/(?P<name>[A-Za-z0-9_-]+)/?")
RESULTS = re.compile(r"/gradio_api/call/(?P<name>[A-Za-z0-9_-]+)/(?P<event>[A-Za-z0-9_-]+)/?")
SESSION = re.compile(r"[A-Za-z0-9_-]{1,128}")
PREDICT_FIELDS = {"data": list, "session_hash": str, "event_id": str, "event_data": dict, "fn_index": int,
                  "trigger_id": int, "simple_format": bool, "batched": bool}
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class GradioGate:
    """An ASGI layer inside the body cap, so the bodies it reads are already bounded. `root` is the app whose
    routes lead to the Gradio app (mounted at once, or later by `serve`)."""

    def __init__(self, app: ASGIApp, root: FastAPI) -> None:
        self.app, self.root = app, root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gradio = _gradio_app(self.root, scope) if scope["type"] == "http" else None
        if gradio is None:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive) if scope["method"] == "POST" else b""
        try:
            _check(gradio.get_blocks(), scope, body)
        except Refusal as refusal:
            await error_response(refusal.status, refusal.code, str(refusal))(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive) if scope["method"] == "POST" else receive, send)


def _gradio_app(app: Any, scope: Scope) -> Any:
    """The Gradio app a request will reach through `app`'s routes, or None when another route takes it."""
    for route in getattr(app, "routes", ()):
        match, _ = route.matches(scope)
        if match is not Match.FULL:
            continue
        if isinstance(route, Mount) and route.path in ("", "/"):
            return route.app if hasattr(route.app, "get_blocks") else _gradio_app(route.app, scope)
        return None
    return None


def _check(blocks: Any, scope: Scope, body: bytes) -> None:
    path, method = scope["path"], scope["method"]
    if method == "GET":
        _check_get(blocks, path, scope["query_string"])
    elif method == "POST":
        _check_post(blocks, path, body)
    elif method != "OPTIONS":
        raise Refusal(405, "method_not_allowed", "the web page's routes take GET and POST only")


def _check_get(blocks: Any, path: str, query: bytes) -> None:
    if path in PAGES or path.startswith(ASSETS):
        return
    queue = blocks._queue  # Gradio keeps its sessions and events here; it answers unknown ones with a 500
    if path in ("/gradio_api/queue/data", "/gradio_api/queue/data/"):
        session = _query_value(query, "session_hash")
        if session is None or session not in queue.pending_messages_per_session:
            raise Refusal(404, "not_found", "no such session: join the queue (POST /gradio_api/queue/join) first")
        return
    if (result := RESULTS.fullmatch(path)) is not None:
        event = result["event"]
        if event not in queue.event_ids_to_events and not any(event in ids for ids in
                                                              queue.pending_event_ids_session.values()):
            raise Refusal(404, "not_found", "no such event: start one with POST /gradio_api/call/NAME")
        return
    raise Refusal(404, "not_found", "no such page; the JSON API is documented at /docs")


def _check_post(blocks: Any, path: str, body: bytes) -> None:
    fields = _object(body)
    if path == "/gradio_api/queue/join":
        _fields(fields, PREDICT_FIELDS, required=False)
        _check_call(_function(blocks, fields.get("fn_index")), fields)
        _session(fields, required=True)
    elif (call := CALLS.fullmatch(path)) is not None:
        # Gradio runs the function `fn_index` names whatever the path says: the page's own unqueued events
        # (with workers) name theirs by index on the run route; anywhere else an index must be the path's.
        index = fields.get("fn_index")
        if call["route"] == "run" and index is not None:
            function = _function(blocks, index)
        else:
            named = [f for f in blocks.fns.values() if f.api_name == call["name"] and f.fn is not None
                     and getattr(f, "api_visibility", "public") != "private"]
            if not named:
                raise Refusal(404, "not_found", f"the page has no function named {call['name']!r}; "
                                                "GET /gradio_api/info lists them")
            function = named[0]
            if index is not None and index != function._id:
                raise Refusal(422, "invalid_request", f"fn_index names another function than {call['name']!r}")
        _check_call(function, fields)
        _session(fields, required=False)
    elif path == "/gradio_api/cancel":
        _fields(fields, {"session_hash": str, "fn_index": int, "event_id": str}, required=True)
    elif path in ("/gradio_api/component_server", "/gradio_api/component_server/"):
        _fields(fields, {"session_hash": str, "component_id": int, "fn_name": str, "data": object}, required=True)
        component = blocks.blocks.get(fields["component_id"])
        names = [f.__name__ for f in getattr(component, "server_fns", None) or ()]
        if fields["fn_name"] not in names:
            raise Refusal(404, "not_found", "no component of the page has that server function")
    else:
        raise Refusal(404, "not_found", "the web page takes no such request; the JSON API is documented at /docs")


def _object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object of valid text (no NaN, no lone surrogates)."""
    try:
        value = _bounded_json.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refusal(422, "invalid_json", f"the request body is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise Refusal(422, "invalid_request", "the request body must be a JSON object")
    if LONE_SURROGATE.search(json.dumps(value, ensure_ascii=False)):
        raise Refusal(422, "invalid_json", "the request body holds text that is not Unicode (a lone surrogate)")
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _function(blocks: Any, index: Any) -> Any:
    function = blocks.fns.get(index) if isinstance(index, int) and not isinstance(index, bool) else None
    if function is None or function.fn is None:
        raise Refusal(404, "not_found", "fn_index names no function of the page that runs on the server")
    return function


def _fields(fields: dict[str, Any], types: dict[str, type], required: bool) -> None:
    unknown = sorted(set(fields) - set(types))
    if unknown:
        raise Refusal(422, "invalid_request", f"unknown fields {', '.join(unknown)}")
    for name, kind in types.items():
        if name not in fields:
            if required:
                raise Refusal(422, "invalid_request", f"{name} is missing")
            continue
        value = fields[name]
        ok = value is None and not required or kind is object or isinstance(value, kind) \
            and not (kind is int and isinstance(value, bool))
        if not ok:
            raise Refusal(422, "invalid_request", f"{name} must be a {kind.__name__}")


def _session(fields: dict[str, Any], required: bool) -> None:
    session = fields.get("session_hash")
    if (session is not None or required) and not (isinstance(session, str) and SESSION.fullmatch(session)):
        raise Refusal(422, "invalid_request", "session_hash must be letters, digits, _ or -, up to 128")


def _check_call(function: Any, fields: dict[str, Any]) -> None:
    """One value per input of `function`, each of the type its component takes."""
    _fields(fields, PREDICT_FIELDS, required=False)
    data = fields.get("data")
    if not isinstance(data, list) or len(data) != len(function.inputs):
        raise Refusal(422, "invalid_request", f"data must list {len(function.inputs)} values, one per input")
    for position, (value, component) in enumerate(zip(data, function.inputs)):
        if not _fits(value, component.api_info(), getattr(component, "samples", None)):
            raise Refusal(422, "invalid_request", f"value {position} is not what the page's "
                                                  f"{type(component).__name__.lower()} takes")


def _fits(value: Any, schema: dict[str, Any], samples: list | None = None) -> bool:
    """`value` is of the JSON schema's type (and among its choices), or empty (null) where the component is not
    a number (gradio_client sends null for an empty text box); a schema this does not know is left to the
    component. `samples`: an example list's, whose value is an index into them."""
    kind = schema.get("type")
    if value is None:
        return kind not in ("number", "integer")
    if "enum" in schema and value not in schema["enum"]:
        return False
    if kind == "string":
        return isinstance(value, str)
    if kind in ("number", "integer"):
        number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        whole = number and (kind == "number" or isinstance(value, int))
        return whole and (samples is None or 0 <= value < len(samples))
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list) and all(_fits(v, schema.get("items", {})) for v in value)
    return True


def _query_value(query: bytes, name: str) -> str | None:
    values = parse_qs(query.decode("latin-1")).get(name)
    return values[0] if values else None

