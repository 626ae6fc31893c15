"""Crash safety: a `build`, an `add` or a merge (`compact`) killed with SIGKILL at any moment leaves an index
that loads and answers exactly as before the write, or exactly as after it if the kill came after the
commit; never a mix, never an index that fails to load, and never leftovers that stop the next writer.

Two ways to reach every phase. The delay loop kills real CLI processes at delays spread over a whole run
(start-up, reading, embedding, saving, exiting). The step loop runs the same command in a process that dies
right before each file-system call of its commit (each fsync and rename), which timing alone hits only by luck.
"""
from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search import SearchService
from search.collection import load_index, save_index
from search.collection._manifest import read_manifest
from search.embedding import load_embedder
from tests.helpers import ROOT, answers

# Run in a child: the CLI command in argv[2:], dying (no cleanup, like SIGKILL) right before file-system
# call number argv[1] of the index folder's storage code.
_DIE_AT_STEP = """
import os, sys
from search import _files
from search.cli import main
from search.collection import _storage

step, calls = int(sys.argv[1]), 0

def dying(call):
    def wrapper(*args, **kwargs):
        global calls
        calls += 1
        if calls == step:
            os._exit(9)
        return call(*args, **kwargs)
    return wrapper

_storage.fsync = _files.fsync = dying(_files.fsync)  # a segment's files are flushed through _files.listed
_storage.os.rename, _storage.os.replace = dying(os.rename), dying(os.replace)
sys.exit(main(sys.argv[2:]))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1"}


def _search_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "search", *args, "-q"]


def _run_and_kill(command: list[str], delay: float) -> bool:
    """Run `command`, SIGKILL it after `delay` seconds; True when it was killed, False when it finished first."""
    proc = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        assert proc.returncode == 0, f"{command} failed on its own (exit {proc.returncode})"
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def _state_at(root: Path) -> tuple[list, int]:
    """What the index at `root` answers and how many segments hold it, loaded the way a server would
    (checksums verified): a merge changes only the second."""
    index = load_index(root)
    return answers(SearchService(index, load_embedder(index.model_id), root)), len(index.segments)


class Scenario:
    """A write (build, add, compact) from a known index `before`: the index's state before and after it."""

    def __init__(self, tmp: Path, before: Path, args: list[str]) -> None:
        self.tmp, self.before, self.args = tmp, before, args
        self.old = _state_at(before)
        reference = self.fresh("reference")
        started = time.monotonic()
        subprocess.run(self.command(reference), cwd=ROOT, env=_env(), check=True, capture_output=True)
        self.duration = time.monotonic() - started
        self.new = _state_at(reference)
        assert self.new != self.old, "the write must change the index, or a lost write would go unnoticed"

    def fresh(self, name: str) -> Path:
        target = self.tmp / name
        shutil.copytree(self.before, target)
        return target

    def args_for(self, root: Path) -> list[str]:
        return [str(root) if a == "{root}" else a for a in self.args]

    def command(self, root: Path) -> list[str]:
        return _search_cli(*self.args_for(root))

    def outcome(self, root: Path, what: str) -> str:
        """Check the survivor of a kill and the next writer after it; "old" or "new"."""
        got = _state_at(root)
        assert got in (self.old, self.new), f"{what}: the index is neither as before nor as after"
        _check_next_writer(root, got)
        shutil.rmtree(root)
        return "old" if got == self.old else "new"

    def kill_and_check(self, run: int, fraction: float) -> str:
        """Kill the write at `fraction` of its usual duration; check what is left."""
        root = self.fresh(f"run-{run}")
        killed = _run_and_kill(self.command(root), fraction * self.duration)
        outcome = self.outcome(root, f"run {run} (killed at {fraction:.2f})")
        assert killed or outcome == "new"
        return outcome

    def kill_at_steps(self, steps: list[int] | None) -> list[str]:
        """Run the write dying before file-system call N of its commit, for each N (every one when None)."""
        outcomes = []
        for step in steps or range(1, 200):
            root = self.fresh(f"step-{step}")
            child = subprocess.run([sys.executable, "-c", _DIE_AT_STEP, str(step), *self.args_for(root), "-q"],
                                   cwd=ROOT, env=_env(), capture_output=True, text=True)
            assert child.returncode in (0, 9), child.stderr
            outcomes.append(self.outcome(root, f"died before file-system call {step}"))
            if child.returncode == 0:  # the write ran past its last call: every step has been tried
                break
        return outcomes


def _check_next_writer(root: Path, expected: tuple[list, int]) -> None:
    """Whatever a crash left behind (temporary folders, an uncommitted segment) must not stop the next write,
    and the next write sweeps it away."""
    before = {s["name"] for s in read_manifest(root)["segments"]}
    save_index(load_index(root), root)
    assert _state_at(root) == expected
    now = {s["name"] for s in read_manifest(root)["segments"]}
    assert not list(root.glob(".tmp-*")) and {p.name for p in root.glob("seg-*")} <= before | now


class Scenarios:
    """From a one-file index: `build` of a larger corpus, `add` of one more file, and `compact` of an index
    that two adds left in three segments; each made when first used."""

    def __init__(self, tmp: Path, seed_files: list[Path]) -> None:
        self.tmp, self.seed_files = tmp, seed_files
        corpus = tmp / "a"
        corpus.mkdir()
        shutil.copy(seed_files[0], corpus)
        self.before = tmp / "before"
        subprocess.run(_search_cli("build", "--corpus", str(corpus), "--index-dir", str(self.before)), cwd=ROOT,
                       env=_env(), check=True, capture_output=True)

    @functools.cached_property
    def build(self) -> Scenario:
        corpus = self.tmp / "b"
        corpus.mkdir()
        for f in self.seed_files[:3]:
            shutil.copy(f, corpus)
        return Scenario(self.tmp / "build", self.before, ["build", "--corpus", str(corpus), "--index-dir", "{root}"])

    @functools.cached_property
    def add(self) -> Scenario:
        return Scenario(self.tmp / "add", self.before, ["add", str(self.seed_files[1]), "--index-dir", "{root}"])

    @functools.cached_property
    def compact(self) -> Scenario:
        deltas = self.tmp / "deltas"
        shutil.copytree(self.before, deltas)
        for f in self.seed_files[1:3]:
            subprocess.run(_search_cli("add", str(f), "--index-dir", str(deltas)), cwd=ROOT, env=_env(), check=True,
                           capture_output=True)
        return Scenario(self.tmp / "compact", deltas, ["compact", "--index-dir", "{root}"])


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory, seed_files: list[Path]) -> Scenarios:
    return Scenarios(tmp_path_factory.mktemp("crash"), seed_files)


def test_killed_add_leaves_old_or_new_index(scenarios: Scenarios):
    """Short version: an add killed mid-way (embedding) and near its end (saving)."""
    for run, fraction in enumerate([0.5, 0.95]):
        scenarios.add.kill_and_check(run, fraction)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["build", "add", "compact"])
def test_killed_write_at_many_delays(scenarios: Scenarios, command: str):
    """12 kills per command, spread over the whole run and denser near the end, where the commit happens."""
    fractions = [0.05, 0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.86, 0.9, 0.94, 0.98, 1.02]
    outcomes = [getattr(scenarios, command).kill_and_check(run, f) for run, f in enumerate(fractions)]
    assert "old" in outcomes, outcomes  # some kills did land before the commit


@pytest.mark.parametrize("command", ["add", "compact"])
def test_commit_killed_before_the_manifest_keeps_the_old_index(scenarios: Scenarios, command: str):
    """Short version of the step loop: dying at the first fsync, and a few calls on."""
    assert getattr(scenarios, command).kill_at_steps([1, 4]) == ["old", "old"]


@pytest.mark.slow
@pytest.mark.parametrize("command", ["build", "add", "compact"])
def test_commit_killed_before_every_file_system_call(scenarios: Scenarios, command: str):
    outcomes = getattr(scenarios, command).kill_at_steps(None)
    commit = outcomes.index("new")  # the first call after which the new index is live: the manifest's rename
    assert commit > 0 and set(outcomes[:commit]) == {"old"} and set(outcomes[commit:]) == {"new"}, outcomes
