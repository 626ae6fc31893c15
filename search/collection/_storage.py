"""The index folder on disk: segment folders, the manifest that commits them, checksums, the writer lock.

Layout: `manifest.json` lists the segments that make the index (`seg-000001/`, the base, then deltas) with
the size and checksum of every file in them. A writer writes each new segment in a temporary folder,
fsyncs it, renames it into place and only then replaces `manifest.json` (one atomic rename). A crash at any
point leaves the old manifest naming old, complete segments; leftovers are swept by the next writer.

Writers never follow a symbolic link inside the folder: temporary files and folders are created under
fresh random names (O_EXCL), the lock is opened with O_NOFOLLOW, and a link found where a file or folder
belongs is refused with an error naming it.

Checksums are verified once per segment, not every time it is opened: reading a million stories' files
takes seconds, and a server (or each of its workers) opens them on every start. A segment whose files were
written here or verified here gets a record under `cache/verified/` of each file's identity (device, inode,
size, modification and change times) and checksum; while every file still has that identity it is trusted.
Any write to a file changes its change time (which no user can set back), a copy has new inodes, so a file
altered or replaced since is verified again, and refused if it does not match.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._files import fsync, listed, process_alive, sha256, temporary_folder
from ..errors import IndexCorruptError, StorySearchError
from ._manifest import FORMAT_VERSION, MANIFEST, REBUILD_HINT, SEGMENT_NAME, read_manifest

LOCK = ".lock"
TMP = ".tmp-"
VERIFIED = ("cache", "verified")  # under the index folder: one record per verified segment


def default_index_dir() -> Path:
    return Path(os.environ.get("STORY_SEARCH_INDEX") or "index")


def refuse_link(path: Path) -> None:
    """A symbolic link where the index folder should hold a file or folder of its own is refused."""
    if path.is_symlink():
        raise IndexCorruptError(f"{path} is a symbolic link; story-search never writes through links in an index "
                               "folder. Remove it (it is not part of the index) and try again")


def refuse_links_within(folder: Path) -> None:
    """A segment folder holds its own files and folders only: a link anywhere inside it (a planted
    `sub -> /etc` with a manifest naming `sub/passwd`, or an engine file the manifest does not list) would
    make the loader read what the link points at."""
    for parent, folders, files in os.walk(folder):
        for name in (*folders, *files):
            refuse_link(Path(parent) / name)


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """One writer at a time per index folder (a second `build` waits instead of interleaving)."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            refuse_link(root / LOCK)
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def segment_dir(root: Path, entry: dict[str, Any], verify: bool = True) -> Path:
    """A committed segment's folder, after checking its files against the manifest (sizes; checksums too
    with `verify`)."""
    folder = root / entry["name"]
    hint = REBUILD_HINT.format(root=root)
    if folder.is_symlink() or not folder.is_dir():
        raise IndexCorruptError(f"{folder} is missing or not a folder; {hint}")
    refuse_links_within(folder)
    for name, expected in entry["files"].items():
        path = folder / name
        if not path.is_file():
            raise IndexCorruptError(f"{path} is missing or not a file; {hint}")
        if path.stat().st_size != expected["bytes"] or (verify and sha256(path) != expected["sha256"]):
            raise IndexCorruptError(f"{path} does not match its checksum (truncated or altered); {hint}")
    return folder


def _identity(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def _record_path(root: Path, name: str) -> Path:
    return root.joinpath(*VERIFIED, f"{name}.json")


def is_verified(root: Path, entry: dict[str, Any]) -> bool:
    """Whether the segment of manifest `entry` was verified (or written) here and no file of it has changed
    since: its checksums need not be computed again (see the module's docstring)."""
    try:
        record = json.loads(_record_path(root, entry["name"]).read_text(encoding="utf-8"))
        return isinstance(record, dict) and set(record) == set(entry["files"]) and all(
            record[name] == [entry["files"][name]["sha256"], *_identity(root / entry["name"] / name)]
            for name in entry["files"])
    except (OSError, ValueError, TypeError):
        return False


def record_verified(root: Path, entry: dict[str, Any]) -> None:
    """Note that the segment of `entry` matches its checksums as its files are now. Best effort: a folder
    this process may not write is simply verified again next time."""
    try:
        folder = root
        for part in VERIFIED:
            folder = folder / part
            refuse_link(folder)
            folder.mkdir(exist_ok=True)
        record = {name: [f["sha256"], *_identity(root / entry["name"] / name)] for name, f in entry["files"].items()}
        fd, staged = tempfile.mkstemp(prefix=".verified.", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.chmod(staged, 0o644)
        os.replace(staged, _record_path(root, entry["name"]))
    except (OSError, IndexCorruptError):
        pass


def current_generation(root: Path) -> int | None:
    """The committed generation at `root`, or None when there is no readable manifest."""
    try:
        return int(read_manifest(root)["generation"])
    except StorySearchError:
        return None


@dataclass(frozen=True)
class Prepared:
    """A segment written, checksummed and fsynced in a temporary folder, waiting for its commit."""

    folder: Path
    kind: str
    stories: int
    files: dict[str, Any]

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def prepare(root: Path, write: Callable[[Path], list[str]], kind: str, stories: int) -> Prepared:
    """Write a segment with `write(folder) -> file names` into a temporary folder of `root`.

    May run outside the writer lock (a merge does, so searches and writes go on meanwhile): the folder's name
    carries this process's id, and sweeps leave the folders of live processes alone.
    """
    root.mkdir(parents=True, exist_ok=True)
    with temporary_folder(root, f"{TMP}{os.getpid()}-") as tmp:
        try:
            names = write(tmp)
        except OSError as exc:
            raise _with_errno(exc, root) from None
        files = {name: listed(tmp / name, follow_links=False) for name in names}
        for folder in {(tmp / name).parent for name in names} | {tmp}:
            fsync(folder, follow_links=False)
        return Prepared(tmp, kind, stories, files)


def _with_errno(exc: OSError, root: Path) -> OSError:
    """numpy reports a short write ("1536 requested and 0 written") without an errno: it is a full disk when the
    disk has no room left, an input/output error otherwise, so callers can say which."""
    if exc.errno is not None:
        return exc
    full = shutil.disk_usage(root).free < (1 << 20)
    code = errno.ENOSPC if full else errno.EIO
    return OSError(code, os.strerror(code), str(root))


def commit(root: Path, segments: Sequence[dict[str, Any] | Prepared], manifest: dict[str, Any]) -> dict[str, Any]:
    """Commit the index made of `segments`, in order: entries of committed segments kept as they are, and
    prepared ones renamed into place; returns the manifest written. Callers hold `writer_lock`.

    A segment renamed into place is removed again if the commit fails (a full disk, say), so a failed write
    leaves nothing behind but what the next writer sweeps.
    """
    refuse_link(root / MANIFEST)
    previous = _committed_names(root)
    placed: list[Path] = []
    try:
        entries = []
        for segment in segments:
            if isinstance(segment, Prepared):
                target = root / _next_segment_name(root)
                os.rename(segment.folder, target)  # a fresh name: never replaces (or follows) an existing entry
                placed.append(target)
                entries.append({"name": target.name, "kind": segment.kind, "stories": segment.stories,
                                "files": segment.files})
            else:
                entries.append(segment)
        manifest = {**manifest, "format_version": FORMAT_VERSION, "segments": entries,
                    "generation": (current_generation(root) or 0) + 1}
        for folder in placed:  # their checksums were computed from the files as written (`prepare`)
            record_verified(root, next(e for e in entries if e["name"] == folder.name))
        _replace_manifest(root, manifest)
    except BaseException:
        for folder in placed:
            shutil.rmtree(folder, ignore_errors=True)
        for segment in segments:
            if isinstance(segment, Prepared):
                segment.discard()
        raise
    sweep(root, keep={s["name"] for s in manifest["segments"]} | previous)
    return manifest


def _replace_manifest(root: Path, manifest: dict[str, Any]) -> None:
    fd, staged = tempfile.mkstemp(prefix=f".{MANIFEST}.", dir=root)  # O_EXCL under a random name
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(manifest, indent=1, sort_keys=True))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(staged, 0o644)
        os.replace(staged, root / MANIFEST)  # the commit point
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)
        raise
    fsync(root, follow_links=False)


def _committed_names(root: Path) -> set[str]:
    try:
        return {s["name"] for s in read_manifest(root)["segments"]}
    except StorySearchError:
        return set()


def _next_segment_name(root: Path) -> str:
    """One past the highest segment folder on disk, not past the manifest's: a writer killed between
    renaming its folder into place and committing leaves a newer, uncommitted folder behind."""
    numbers = [int(p.name.removeprefix("seg-")) for p in root.glob("seg-*") if SEGMENT_NAME.fullmatch(p.name)]
    return f"seg-{max(numbers, default=0) + 1:06d}"


def sweep(root: Path, keep: set[str]) -> None:
    """Remove segment folders no manifest names and the leftovers of writers that died.

    Segments of the manifest just replaced are kept (in `keep`) so that a reader that read it a moment ago
    can still open them; the temporary folders of live processes (this one included) are theirs.
    """
    for path in root.iterdir():
        if path.name in keep or path.is_symlink():
            continue
        if path.name.startswith(TMP) and _writer_alive(path.name):
            continue
        if path.is_dir() and (SEGMENT_NAME.fullmatch(path.name) or path.name.startswith(TMP)):
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(f".{MANIFEST}."):
            path.unlink(missing_ok=True)
    records = root.joinpath(*VERIFIED)
    if records.is_dir() and not records.is_symlink():
        for record in records.iterdir():
            if record.name.removesuffix(".json") not in keep:  # a swept segment's, or a leftover temporary file
                record.unlink(missing_ok=True)


def _writer_alive(name: str) -> bool:
    """Whether the process that made temporary folder `name` (".tmp-<pid>-...") is still running."""
    pid = name.removeprefix(TMP).split("-", 1)[0]
    return pid.isdigit() and process_alive(int(pid))
