"""The manifest: the one file that says which segments make the index, checked field by field before use.

The manifest decides which files are opened, so a manifest that story-search did not write is refused as a
whole rather than half-trusted: every key known, every field of its type and range, every segment's files
listed with size and checksum, names that stay inside the index folder.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from .. import _bounded_json
from ..errors import ConfigError, IndexCorruptError, IndexMismatchError, IndexMissingError
from ._calibration import FILE as CALIBRATION
from ._config import Config
from ._postings import FILES as POSTINGS_FILES
from ._segment import BASE, DELTA, META, STORIES, VECTORS

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
REBUILD_HINT = "rebuild it with `python -m search build --index-dir {root}`"
SEGMENT_NAME = re.compile(r"seg-\d{6}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_MANIFEST_BYTES = 16 << 20  # read before any check: a manifest lists segments and files, a few kilobytes each
REQUIRED_FILES = frozenset({STORIES, VECTORS, META, CALIBRATION, *POSTINGS_FILES})


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest at `root`, checked (`IndexCorruptError` naming what is wrong, with the rebuild command)."""
    path = root / MANIFEST
    if path.is_symlink():
        raise IndexCorruptError(f"{path} is a symbolic link; story-search writes a real file there. "
                                f"{REBUILD_HINT.format(root=root)}")
    if not path.is_file():
        raise IndexMissingError(f"no index at {root}/: build one with `python -m search build --index-dir {root}`")
    try:
        with path.open("rb") as f:
            text = f.read(MAX_MANIFEST_BYTES + 1)
        if len(text) > MAX_MANIFEST_BYTES:
            raise IndexCorruptError(f"{path} is over {MAX_MANIFEST_BYTES:,} bytes, far more than any manifest "
                                    f"story-search writes; {REBUILD_HINT.format(root=root)}")
        manifest = _bounded_json.loads(text.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} is unreadable ({_reason(exc)}); {REBUILD_HINT.format(root=root)}") from None
    if isinstance(manifest, dict) and manifest.get("format_version") != FORMAT_VERSION \
            and isinstance(manifest.get("format_version"), int):
        raise IndexMismatchError(f"index at {root}/ has format version {manifest['format_version']}, this "
                                 f"version of story-search reads version {FORMAT_VERSION}; "
                                 f"{REBUILD_HINT.format(root=root)}")
    problem = _problem(manifest)
    if problem:
        raise IndexCorruptError(f"{path} {problem}; {REBUILD_HINT.format(root=root)}")
    return manifest


def _reason(exc: Exception) -> str:
    return f"not JSON: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else "not JSON text"


def _problem(m: Any) -> str | None:
    """What is wrong with a manifest, in words, or None."""
    if not isinstance(m, dict):
        return "is not a JSON object"
    checks: dict[str, Callable[[Any], str | None]] = {
        "format_version": lambda v: None if v == FORMAT_VERSION else "is not this format",
        "generation": lambda v: None if _count(v) and v >= 1 else "must be a whole number from 1",
        "model": _model,
        "index": _engine,
        "config": _config,
        "story_count": lambda v: None if _count(v) else "must be a whole number",
        "corpus_fingerprint": lambda v: None if isinstance(v, str) and _SHA256.fullmatch(v) else "must be a sha256",
        "built_at": lambda v: None if isinstance(v, str) else "must be a time",
        "segments": _segments,
    }
    unknown = sorted(set(m) - set(checks))
    if unknown:
        return f"has keys story-search does not write ({', '.join(unknown)})"
    for key, check in checks.items():
        if key not in m:
            return f"has no {key!r}"
        if (why := check(m[key])) is not None:
            return f"field {key!r} {why}"
    return None


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _model(v: Any) -> str | None:
    ok = isinstance(v, dict) and set(v) == {"id", "dim"} and isinstance(v["id"], str) and v["id"] \
        and _count(v["dim"]) and v["dim"] >= 1
    return None if ok else "must be {id, dim} with a model name and a positive dimension"


def _engine(v: Any) -> str | None:
    from ..vectorstore import INDEX_TYPES

    ok = isinstance(v, dict) and set(v) == {"type", "params"} and v["type"] in INDEX_TYPES \
        and v["type"] != "auto" and isinstance(v["params"], dict)
    return None if ok else "must be {type, params} naming a vector engine"


def _config(v: Any) -> str | None:
    if not isinstance(v, dict):
        return "must be an object"
    try:
        Config.from_dict(v)
    except (ConfigError, TypeError, ValueError) as exc:
        return f"is not a configuration story-search can use ({exc})"
    return None


def _segments(v: Any) -> str | None:
    if not isinstance(v, list) or not v:
        return "must list the index's segments"
    names = set()
    for i, s in enumerate(v):
        if not isinstance(s, dict) or set(s) != {"name", "kind", "stories", "files"}:
            return f"entry {i} must be {{name, kind, stories, files}}"
        if not isinstance(s["name"], str) or not SEGMENT_NAME.fullmatch(s["name"]) or s["name"] in names:
            return f"entry {i} has a bad or repeated name"
        names.add(s["name"])
        if s["kind"] != (BASE if i == 0 else DELTA):
            return f"entry {i} must be a {'base' if i == 0 else 'delta'} segment"
        if not _count(s["stories"]):
            return f"entry {i} must count its stories"
        if (why := _files(s["files"])) is not None:
            return f"entry {i} {why}"
    return None


def _files(files: Any) -> str | None:
    if not isinstance(files, dict):
        return "must list its files"
    for name, entry in files.items():
        if not safe_name(name):
            return f"lists a file outside its segment folder ({name!r})"
        if not (isinstance(entry, dict) and set(entry) == {"bytes", "sha256"} and _count(entry["bytes"])
                and isinstance(entry["sha256"], str) and _SHA256.fullmatch(entry["sha256"])):
            return f"lists {name!r} without its size and checksum"
    missing = sorted(REQUIRED_FILES - set(files))
    return f"does not list {', '.join(missing)}" if missing else None


def safe_name(name: Any) -> bool:
    """A file name from the manifest that stays inside its segment folder (no absolute path, no `..`)."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts


def engine_of(manifest: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    return manifest["index"]["type"], dict(manifest["index"]["params"])
