"""Loaded at start-up by every Python process a test runs with this folder first on PYTHONPATH: writes what
the process does that leaves it, one JSON line per event, to $STORY_SEARCH_AUDIT_LOG.

- `lookup` (a host name resolved), `connect` (an address connected or sent to): Python's own socket calls,
  seen through audit hooks (`sys.addaudithook`). Calls made by native code (onnxruntime's uploader, say)
  are not Python's; tests trace those with strace.
- `write`: a file opened for writing, a folder made, a file renamed or linked into place, by Python code.
- `load`: the settings a watched library found in the environment when it was first imported.
"""
from __future__ import annotations

import json
import os
import sys

LOG = os.environ.get("STORY_SEARCH_AUDIT_LOG")
WATCHED = ("faiss", "gradio", "huggingface_hub", "onnxruntime", "torch", "sentence_transformers", "ray")
SETTINGS = ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "GRADIO_ANALYTICS_ENABLED", "GRADIO_TEMP_DIR",
            "ORT_DISABLE_TELEMETRY", "RAY_USAGE_STATS_ENABLED", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
LOOKUPS = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
           "socket.getnameinfo")
SENDS = ("socket.connect", "socket.sendto", "socket.sendmsg")
WRITES = ("os.mkdir", "os.rename", "os.symlink", "os.link", "os.truncate", "shutil.copyfile", "shutil.copytree")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _record(kind: str, what: object) -> None:
    line = json.dumps({"pid": os.getpid(), "kind": kind, "what": what}, default=repr) + "\n"
    os.write(_FD, line.encode("utf-8", "backslashreplace"))


def _path(value: object) -> str | None:
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    return os.path.abspath(value) if isinstance(value, str) else None


def _written(event: str, args: tuple) -> str | None:
    """The path a file-system event writes to, or None when it writes nothing."""
    if event == "open":
        path, mode, flags = args
        writes = set(mode) & set("wax+") if isinstance(mode, str) else mode is None and flags & WRITE_FLAGS
        return _path(path) if writes else None
    if event in WRITES:
        return _path(args[0] if event in ("os.mkdir", "os.truncate") else args[1])
    return None


def _hook(event: str, args: tuple) -> None:
    if event in LOOKUPS:
        _record("lookup", args[0])
    elif event in SENDS:
        address = args[1] if len(args) > 1 else None
        if event != "socket.sendmsg" and address is not None:  # else it goes where connect already said
            _record("connect", list(address) if isinstance(address, tuple) else address)
    elif (target := _written(event, args)) is not None:
        _record("write", target)


class _Watch:
    """Notes the environment the first time each watched library is imported."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name in WATCHED and name not in self.seen:
            self.seen.add(name)
            _record("load", {"library": name, "environment": {k: os.environ.get(k) for k in SETTINGS}})


if LOG:
    _FD = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    sys.meta_path.insert(0, _Watch())
    sys.addaudithook(_hook)
