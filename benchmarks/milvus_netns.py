"""Run the real Milvus engine (the `milvus` package's embedded 2.3 standalone) where it cannot be reached.

The embedded server binds every interface, so it is only ever started inside a network namespace that
has nothing but a loopback device; the namespace is created here and deleted afterwards. Needs root
and iproute2 (CI runs as root).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def unavailable() -> str | None:
    """Why the real engine cannot be run here, or None when it can."""
    if os.geteuid() != 0:
        return "creating a network namespace needs root"
    if not shutil.which("ip"):
        return "iproute2's `ip` command is not installed"
    if importlib.util.find_spec("milvus") is None or importlib.util.find_spec("pymilvus") is None:
        return "the `milvus` (embedded server) and `pymilvus` packages are not installed"
    return None


@contextlib.contextmanager
def loopback_namespace() -> Iterator[str]:
    """A fresh network namespace with only `lo` up; yields its name and deletes it on exit."""
    name = f"story-search-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def run_probe(case: Path, out: Path, timeout: float = 600) -> None:
    """Run `benchmarks.milvus_probe` on `case` inside a loopback-only namespace (see that module)."""
    with loopback_namespace() as name:
        probe = [sys.executable, "-m", "benchmarks.milvus_probe", str(case), str(out)]
        subprocess.run(["ip", "netns", "exec", name, *probe], check=True, cwd=ROOT, timeout=timeout)
