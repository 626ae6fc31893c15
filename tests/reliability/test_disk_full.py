"""The command line on a full disk: one `error:` line saying what to do, never a traceback.

The disk is real: a 64 KiB tmpfs mounted in a private mount namespace (`unshare -m`, as root), where the
index is built. Where namespaces are not allowed the test is skipped and says so.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, SEEDS, assert_clean_error


def _can_mount_tmpfs(folder: Path) -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {folder}"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


def test_build_on_a_full_disk_prints_one_line_naming_what_to_do(tmp_path: Path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _can_mount_tmpfs(disk):
        pytest.skip("needs root and `unshare -m` to mount a small tmpfs")
    command = [sys.executable, "-m", "search", "build", "--corpus", str(SEEDS), "--model", "hashing",
               "--index-dir", str(disk / "index"), "-q"]
    # The build, then what it left in the index folder (the mount lives only as long as this shell).
    script = f'mount -t tmpfs -o size=64k tmpfs "{disk}" && "$@"; code=$?; ls -A "{disk}/index"; exit $code'
    run = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *command], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 1
    assert_clean_error(run.stderr, "error: no space left on the disk", "free some space")
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stdout.split() in ([], [".lock"]), run.stdout  # no half-written segment left behind
