"""Crash safety: a `build` or `add` killed with SIGKILL at any moment leaves an index that loads and answers
exactly as before the write, or exactly as after it if the kill came after the commit; never a mix, never
an index that fails to load, and never leftovers that stop the next writer.

Two ways to reach every phase. The delay loop kills real CLI processes at delays spread over a whole run
(start-up, reading, embedding, saving, exiting). The step loop kills a saving process right before each
file-system call of the save (each fsync and rename), which timing alone hits only by luck.
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

from search import SearchService, StoryIndex
from search.embedding import load_embedder
from tests.helpers import ROOT, answers

# Run in a child: save the index at argv[1] over the one at argv[2], dying (no cleanup, like SIGKILL) right
# before file-system call number argv[3] of the save.
_SAVE_AND_DIE = """
import os, sys
from pathlib import Path
from search import StoryIndex
from search.collection import storage

new, target, step = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
index = StoryIndex.load(new)
calls = 0

def dying(call):
    def wrapper(*args, **kwargs):
        global calls
        calls += 1
        if calls == step:
            os._exit(9)
        return call(*args, **kwargs)
    return wrapper

storage._fsync, storage.os.rename, storage.os.replace = dying(storage._fsync), dying(os.rename), dying(os.replace)
index.save(target)
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


def _answers_at(root: Path) -> list:
    """Answers of the index at `root`, loaded the way a server would (checksums verified)."""
    return answers(SearchService(StoryIndex.load(root), load_embedder(), root))


class Scenario:
    """A write (build or add) from a known index `before`: what the index answers before and after it."""

    def __init__(self, tmp: Path, before: Path, args: list[str]) -> None:
        self.tmp, self.before, self.args = tmp, before, args
        self.old = _answers_at(before)
        reference = self.fresh("reference")
        started = time.monotonic()
        subprocess.run(self.command(reference), cwd=ROOT, env=_env(), check=True, capture_output=True)
        self.duration = time.monotonic() - started
        self.new = _answers_at(reference)
        assert self.new != self.old, "the write must change the answers, or a lost write would go unnoticed"

    def fresh(self, name: str) -> Path:
        target = self.tmp / name
        shutil.copytree(self.before, target)
        return target

    def command(self, root: Path) -> list[str]:
        return _search_cli(*[str(root) if a == "{root}" else a for a in self.args])

    def kill_and_check(self, run: int, fraction: float) -> str:
        """Kill a write at `fraction` of its usual duration; check the survivor; return "old" or "new"."""
        root = self.fresh(f"run-{run}")
        killed = _run_and_kill(self.command(root), fraction * self.duration)
        got = _answers_at(root)
        assert got in (self.old, self.new), \
            f"run {run} (killed at {fraction:.2f}): answers are neither before nor after"
        assert killed or got == self.new
        _check_next_writer(root, got)
        shutil.rmtree(root)
        return "old" if got == self.old else "new"


def _check_next_writer(root: Path, expected: list) -> None:
    """Whatever a crash left behind (temp folders, an uncommitted generation) must not stop the next save."""
    StoryIndex.load(root).save(root)
    assert _answers_at(root) == expected
    assert not list(root.glob(".tmp-*")) and len(list(root.glob("gen-*"))) <= 2


class Scenarios:
    """`build` of a larger corpus and `add` of one more file, both from a one-file index; each made when first used."""

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


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory, seed_files: list[Path]) -> Scenarios:
    return Scenarios(tmp_path_factory.mktemp("crash"), seed_files)


def test_killed_add_leaves_old_or_new_index(scenarios: Scenarios):
    """Short version: an add killed mid-way (embedding) and near its end (saving)."""
    for run, fraction in enumerate([0.5, 0.95]):
        scenarios.add.kill_and_check(run, fraction)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["build", "add"])
def test_killed_write_at_many_delays(scenarios: Scenarios, command: str):
    """12 kills per command, spread over the whole run and denser near the end, where the save happens."""
    fractions = [0.05, 0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.86, 0.9, 0.94, 0.98, 1.02]
    outcomes = [getattr(scenarios, command).kill_and_check(run, f) for run, f in enumerate(fractions)]
    assert "old" in outcomes, outcomes  # some kills did land before the commit


def _kill_save_at_steps(scenario: Scenario, steps: list[int] | None) -> list[str]:
    """Save the reference index over a copy of `before`, dying before file-system call N, for each N."""
    outcomes = []
    for step in steps or range(1, 100):
        root = scenario.fresh(f"step-{step}")
        child = subprocess.run([sys.executable, "-c", _SAVE_AND_DIE, str(scenario.tmp / "reference"), str(root),
                                str(step)], cwd=ROOT, env=_env(), capture_output=True, text=True)
        assert child.returncode in (0, 9), child.stderr
        got = _answers_at(root)
        assert got in (scenario.old, scenario.new), f"died before file-system call {step}: a mixed index"
        _check_next_writer(root, got)
        shutil.rmtree(root)
        outcomes.append("old" if got == scenario.old else "new")
        if child.returncode == 0:  # the save ran past its last call: every step has been tried
            break
    return outcomes


def test_save_killed_before_the_manifest_commit_keeps_the_old_index(scenarios: Scenarios):
    """Short version of the step loop: dying at the first fsync, and half way through the file-system calls."""
    assert _kill_save_at_steps(scenarios.add, [1, 5]) == ["old", "old"]


@pytest.mark.slow
def test_save_killed_before_every_file_system_call(scenarios: Scenarios):
    outcomes = _kill_save_at_steps(scenarios.build, None)
    commit = outcomes.index("new")  # the first call after which the new index is live: the manifest's rename
    assert commit > 0 and set(outcomes[:commit]) == {"old"} and set(outcomes[commit:]) == {"new"}, outcomes
