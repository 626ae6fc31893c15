"""The index directory on disk: generations, the manifest that commits one, checksums and the writer lock.

Layout: `manifest.json` names the live generation folder (`gen-000007/`) and the checksum of every file in
it. A writer builds a new generation in a temporary folder, fsyncs it, renames it into place and only then
replaces `manifest.json` (one atomic rename). A crash at any point leaves the old manifest pointing at the
old, complete generation; leftovers are swept by the next writer.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import IndexChangedError, IndexCorruptError, IndexMissingError, StorySearchError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REBUILD_HINT = "rebuild it with `python -m search build --index-dir {root}`"
GENERATION = re.compile(r"gen-\d{6}")
# Every key a writer puts in the manifest. Anything else means the file was not written by story-search, and
# since the manifest decides which files are opened, such a file is refused rather than half-trusted.
MANIFEST_KEYS = frozenset({"built_at", "config", "corpus_fingerprint", "edits", "files", "format_version",
                           "generation", "index", "model", "story_count"})


def default_index_dir() -> Path:
    return Path(os.environ.get("STORY_SEARCH_INDEX") or "index")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """One writer at a time per index directory (a second `build` waits instead of interleaving)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not path.is_file():
        raise IndexMissingError(f"no index at {root}/: build one with `python -m search build --index-dir {root}`")
    hint = REBUILD_HINT.format(root=root)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        unknown = set(manifest) - MANIFEST_KEYS
        names_ok = GENERATION.fullmatch(manifest["generation"]) and all(
            _safe_name(name) and set(entry) == {"bytes", "sha256"} for name, entry in manifest["files"].items())
    except (ValueError, KeyError, TypeError, AttributeError):
        raise IndexCorruptError(f"{path} is unreadable; {hint}") from None
    if unknown:
        raise IndexCorruptError(f"{path} has keys story-search does not write ({', '.join(sorted(unknown))}); {hint}")
    if not names_ok:
        raise IndexCorruptError(f"{path} lists a file outside its generation folder or without size and checksum; "
                                f"{hint}")
    return manifest


def _safe_name(name: str) -> bool:
    """A file name from the manifest that stays inside the generation folder (no absolute path, no `..`)."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def generation_dir(root: Path, manifest: dict[str, Any], verify: bool = True) -> Path:
    """The live generation's folder, after checking every file against the manifest's checksums."""
    gen = root / manifest["generation"]
    for name, expected in manifest["files"].items():
        path = gen / name
        if not path.is_file():
            raise IndexCorruptError(f"{path} is missing; {REBUILD_HINT.format(root=root)}")
        if path.stat().st_size != expected["bytes"] or (verify and _sha256(path) != expected["sha256"]):
            raise IndexCorruptError(f"{path} does not match its checksum (truncated or altered); "
                                    f"{REBUILD_HINT.format(root=root)}")
    return gen


def write_generation(root: Path, write: Callable[[Path], list[str]], manifest: dict[str, Any],
                     builds_on: str | None = None) -> dict[str, Any]:
    """Write a new generation with `write(folder) -> file names` and commit it; returns the manifest.

    `builds_on` is the generation the new one was derived from (a server's loaded index plus an update);
    if another writer has committed since, the write is refused rather than silently dropping that work.
    Callers hold `writer_lock`, so the check and the commit cannot interleave with another writer.
    """
    root.mkdir(parents=True, exist_ok=True)
    if builds_on is not None and (current := _current_generation(root)) != builds_on:
        raise IndexChangedError(f"the index at {root}/ was changed by another writer ({current} is live, this "
                                f"process loaded {builds_on}); restart it to load the current index, then retry")
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    tmp.chmod(0o755)  # mkdtemp's 0700 would make a copied index unreadable to other users
    try:
        files = write(tmp)
        manifest = {**manifest, "format_version": FORMAT_VERSION, "files": {}}
        for name in files:
            _fsync(tmp / name)
            manifest["files"][name] = {"bytes": (tmp / name).stat().st_size, "sha256": _sha256(tmp / name)}
        for folder in {(tmp / name).parent for name in files} | {tmp}:
            _fsync(folder)
        previous = _current_generation(root)
        manifest["generation"] = _next_generation(root)
        os.rename(tmp, root / manifest["generation"])
        staged = root / f".{MANIFEST}.tmp"
        staged.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        _fsync(staged)
        os.replace(staged, root / MANIFEST)  # the commit point
        _fsync(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    sweep(root, keep={manifest["generation"], previous})
    return manifest


def _current_generation(root: Path) -> str | None:
    try:
        return read_manifest(root)["generation"]
    except StorySearchError:
        gens = sorted(p.name for p in root.glob("gen-*"))
        return gens[-1] if gens else None


def _next_generation(root: Path) -> str:
    """One past the highest generation folder on disk, not past the manifest's.

    A writer killed between renaming its folder into place and committing the manifest leaves a newer,
    uncommitted folder behind; reusing its name would make every later write fail.
    """
    numbers = [int(p.name.removeprefix("gen-")) for p in root.glob("gen-*") if GENERATION.fullmatch(p.name)]
    return f"gen-{max(numbers, default=0) + 1:06d}"


def sweep(root: Path, keep: set[str | None]) -> None:
    """Remove generations and temporary folders left by crashes or superseded.

    The previous generation is kept so that a reader that read the old manifest a moment ago can still
    open its files.
    """
    for path in root.iterdir():
        if path.is_dir() and path.name not in keep and path.name.startswith(("gen-", ".tmp-")):
            shutil.rmtree(path, ignore_errors=True)
