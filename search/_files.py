"""Files written so that a crash leaves either the old state or the new one: fsync, checksums, and a
temporary folder that is removed unless its contents are published, and whether the process that made a
leftover still runs.

Shared by the index folder (`collection.storage`) and the model cache (`embedding.model_cache`): both write
a folder of files in a temporary folder beside its destination, list each file with its size and sha256,
fsync everything, and rename it into place.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, read a block at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fsync(path: Path, *, follow_links: bool = True) -> None:
    """Flush a file or folder to disk. Without `follow_links`, a link at `path` is an error (ELOOP) rather
    than a way to reach outside a folder this program keeps."""
    fd = os.open(path, os.O_RDONLY | (0 if follow_links else os.O_NOFOLLOW))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def listed(path: Path, *, follow_links: bool = True) -> dict[str, int | str]:
    """A written file flushed to disk, and the size and checksum a manifest lists for it."""
    fsync(path, follow_links=follow_links)
    return {"bytes": path.stat().st_size, "sha256": sha256(path)}


@contextlib.contextmanager
def temporary_folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A fresh folder under `parent` (created under a new random name, never an existing path), removed with
    its contents if the block raises. It is readable by everyone, as the folder it becomes must be:
    `mkdtemp`'s 0700 would stick to a published model cache or make a copied index unreadable."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(0o755)
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs: what a folder named after the process that made it is left alone for."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
