"""A cache folder of derived model files (the int8 ONNX encoders) that is whole and checked or rebuilt,
never half-read.

A conversion takes a while and its output is read by every later process, so a killed
conversion, a full disk or a flipped bit must not leave a file that loads as a broken model. Files are
built in a temporary folder beside the target, fsynced, listed with their sha256 in `manifest.json`
(written last), and the folder is renamed into place; a reader verifies every file against the manifest
and rebuilds on any mismatch. A lock file serialises builders, so two processes starting together
convert once.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .._environment import cache_root  # noqa: F401  (the project's cache, where conversions are kept)
from .._files import fsync, listed, sha256, temporary_folder

MANIFEST = "manifest.json"


def verify(folder: Path, required: tuple[str, ...] = ()) -> dict | None:
    """The manifest if it lists `required` and every file it lists is there with its size and sha256, else None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if not set(required) <= set(files):
            return None
        for name, expected in files.items():
            path = folder / name
            if path.stat().st_size != expected["bytes"] or sha256(path) != expected["sha256"]:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return manifest


def ensure(folder: Path, build: Callable[[Path], dict], required: tuple[str, ...] = ()) -> dict:
    """`folder`'s manifest, after building it if it is missing or fails verification.

    `build(tmp)` writes the files into `tmp` and returns extra fields for the manifest.
    """
    manifest = verify(folder, required)
    if manifest is not None:
        return manifest
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.parent / f".{folder.name}.lock"):
        manifest = verify(folder, required)  # another process may have built it while this one waited
        if manifest is not None:
            return manifest
        for stale in folder.parent.glob(f".tmp-{folder.name}-*"):  # left by a killed build; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        with temporary_folder(folder.parent, f".tmp-{folder.name}-") as tmp:
            started = time.perf_counter()
            extra = build(tmp)
            files = {path.name: listed(path) for path in sorted(p for p in tmp.iterdir() if p.is_file())}
            missing = set(required) - set(files)
            if missing:
                raise RuntimeError(f"the build wrote no {sorted(missing)}")
            manifest = {**extra, "build_seconds": round(time.perf_counter() - started, 1), "files": files}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            fsync(tmp / MANIFEST)
            fsync(tmp)
            _remove(folder)  # damaged: a rename cannot replace a non-empty folder
            tmp.rename(folder)
            fsync(folder.parent)
    return manifest


def discard(folder: Path) -> None:
    """Remove a cached folder whose files verify but hold what its user no longer accepts (the next `ensure`
    builds it again)."""
    with _locked(folder.parent / f".{folder.name}.lock"):
        _remove(folder)


def _remove(folder: Path) -> None:
    """Move `folder` aside in one rename, so no reader meets it half-deleted, then delete it."""
    if folder.exists():
        aside = folder.parent / f".tmp-{folder.name}-damaged-{os.getpid()}"
        folder.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
