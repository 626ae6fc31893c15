"""Nothing leaves the machine, and nothing is written outside the index folder and the model cache: `build`,
`query` and `serve` (the page in Chromium: a search, then related stories; the JSON API) run as real
processes with a home and a temporary folder of their own and no HF_HUB_OFFLINE of their own.

Each process is watched twice: Python's audit hooks (`tests/audit/sitecustomize.py`) record every name
looked up, address connected to and file opened for writing by Python code, and strace records the same
system calls made by native code (onnxruntime's telemetry uploader is C++). The converted model is placed in
the temporary home's default cache (`~/.cache/story-search`), hard-linked from this machine's, so no
conversion runs and the default path is the one used.
"""
from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from search._environment import PRIVACY, cache_root
from tests.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SEEDS,
    SMUGGLING,
    WAIT_MS,
    ask,
    audit_events,
    audited_env,
    free_port,
    wait_for,
)

STRACE = shutil.which("strace")
TRACED = "%network,openat,open,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", ""}
WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND")
ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


@functools.cache
def _traceable() -> bool:
    """strace can follow a process here (ptrace may be forbidden in a container)."""
    return _strace() is not None


@functools.cache
def _strace() -> str | None:
    """strace's path, where it can follow a process here."""
    if STRACE is None or subprocess.run([STRACE, "-f", "-qq", "-o", os.devnull, "true"],
                                        capture_output=True).returncode != 0:
        return None
    return STRACE


class Machine:
    """A home, a temporary folder and a working folder of the programs' own; the index beside them."""

    def __init__(self, root: Path) -> None:
        self.root, self.home, self.tmp, self.cwd = root, root / "home", root / "tmp", root / "cwd"
        self.cache = self.home / ".cache" / "story-search"  # the model cache's default place, under HOME
        self.index, self.log = root / "index", root / "audit.jsonl"

    def env(self) -> dict[str, str]:
        """A user's environment: none of the settings the program must make itself (this test process has
        them, from importing `search`)."""
        return audited_env(self.log, HOME=str(self.home), TMPDIR=str(self.tmp), STORY_SEARCH_CACHE="",
                           STORY_SEARCH_INDEX="", XDG_CACHE_HOME="", GRADIO_TEMP_DIR="", **dict.fromkeys(PRIVACY, ""))

    def command(self, name: str, *args: str) -> list[str]:
        """`python ARGS`, under strace when it can run, writing its trace to traces/NAME."""
        program = [sys.executable, *args]
        strace = _strace()
        if strace is None:
            return program
        (self.root / "traces").mkdir(exist_ok=True)
        return [strace, "--seccomp-bpf", "-f", "-qq", "-e", f"trace={TRACED}", "-e", "signal=none",
                "-o", str(self.root / "traces" / name), *program]

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(name, "-m", "search", *args), cwd=self.cwd, env=self.env(),
                              capture_output=True, text=True, timeout=600)

    def files(self) -> set[Path]:
        return {p for folder in (self.home, self.tmp, self.cwd) for p in folder.rglob("*")}


@pytest.fixture
def machine(tmp_path: Path, seed_index: Path) -> Machine:
    """`seed_index` makes sure this machine's cache holds the converted default model."""
    machine = Machine(tmp_path)
    for folder in (machine.home, machine.tmp, machine.cwd, tmp_path / "corpus"):
        folder.mkdir(parents=True)
    shutil.copytree(cache_root() / "e5-onnx", machine.cache / "e5-onnx", copy_function=_link_or_copy,
                    ignore=shutil.ignore_patterns(".tmp-*"))
    shutil.copy(sorted(SEEDS.glob("*.txt"))[0], tmp_path / "corpus")
    return machine


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def test_build_query_and_serve_call_nothing_and_write_only_their_folders(machine: Machine):
    before = machine.files()
    build = machine.run("build", "build", "--corpus", str(machine.root / "corpus"), "--index-dir", str(machine.index))
    assert build.returncode == 0, build.stderr
    query = machine.run("query", "query", SMUGGLING, "--index-dir", str(machine.index), "--json")
    assert query.returncode == 0 and '"hits"' in query.stdout, query.stderr
    with _serving(machine) as url:
        pages = _search_and_related_in_a_browser(url)
        assert httpx.get(f"{url}/api/search", params={"q": SMUGGLING}).status_code == 200
        config = httpx.get(f"{url}/config").json()

    allowed = (machine.index, machine.cache)
    calls = [line for trace in (machine.root / "traces").iterdir() for line in trace.read_text().splitlines()] \
        if _traceable() else []
    loaded = {e["library"]: e["environment"] for e in audit_events(machine.log, "load")}
    found = {
        "new files in HOME, TMPDIR or the working folder": sorted(
            str(p) for p in machine.files() - before if machine.cache not in p.parents),
        "names looked up": [e for e in audit_events(machine.log, "lookup") if e not in LOOPBACK_NAMES],
        "connections": [e for e in audit_events(machine.log, "connect") if not _loopback_or_local(e)],
        "files written": [p for p in audit_events(machine.log, "write") if not _inside(Path(p), allowed, machine)],
        "native calls out": [c for c in calls if _calls_out(c)],
        "native writes": [c for c in calls if (p := _written_by(c)) and not _inside(p, allowed, machine)],
        "pages from elsewhere": [u for u in pages if not u.startswith((url, "data:", "blob:", "about:"))],
        "libraries loaded without the settings": sorted(
            name for name, env in loaded.items() if any(env[k] != v for k, v in PRIVACY.items())),
        "Gradio analytics": [config["analytics_enabled"]] if config.get("analytics_enabled") is not False else [],
    }
    assert {"faiss", "onnxruntime", "gradio"} <= set(loaded)
    problems = {what: items[:10] for what, items in found.items() if items}
    assert not problems, json.dumps(problems, indent=1)


def test_the_watch_sees_a_lookup_and_a_write_it_must_refuse(machine: Machine):
    """The checks above pass because nothing happened, not because nothing was seen."""
    code = ("import socket, pathlib\ntry:\n    socket.getaddrinfo('story-search-probe.example', 443)\n"
            "except OSError:\n    pass\npathlib.Path.home().joinpath('stray.txt').write_text('x')")
    subprocess.run(machine.command("probe", "-c", code), cwd=machine.cwd, env=machine.env(), capture_output=True,
                   timeout=120)
    assert "story-search-probe.example" in audit_events(machine.log, "lookup")
    assert str(machine.home / "stray.txt") in audit_events(machine.log, "write")
    if _traceable():
        calls = (machine.root / "traces" / "probe").read_text().splitlines()
        assert any(_calls_out(c) for c in calls), "strace saw no lookup"
        assert any((p := _written_by(c)) and p.name == "stray.txt" for c in calls)


@contextlib.contextmanager
def _serving(machine: Machine) -> Iterator[str]:
    """`serve` on a free loopback port until the page answers; stopped with Ctrl-C, as a person stops it."""
    port = free_port()
    server = subprocess.Popen(machine.command("serve", "-m", "search", "serve", "--index-dir", str(machine.index),
                                              "--port", str(port)),
                              cwd=machine.cwd, env=machine.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/", server)
        yield url
    finally:
        _interrupt(server)
        server.wait(timeout=120)


def _interrupt(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C to the server itself: under strace, the traced child, not strace."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    targets = [int(p) for p in children.read_text().split()] if _traceable() and children.exists() else []
    for pid in targets or [process.pid]:
        os.kill(pid, signal.SIGINT)


def _search_and_related_in_a_browser(url: str) -> list[str]:
    """A person's visit: the page, a question, the related stories of the first answer. Returns every URL the
    page requested."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"BROWSER TEST SKIPPED: no Chromium at {CHROMIUM}; install it with `apt-get install chromium`")
    requested: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("request", lambda request: requested.append(request.url))
        page.goto(url + "/")
        page.locator("html[data-ready=true]").wait_for(state="attached")
        ask(page, SMUGGLING)
        page.locator("#results .card-title").first.wait_for()
        title = page.locator("#results .card-title").first.inner_text()
        page.locator("#results .related-btn").first.click()
        page.locator("#related .related-title").filter(has_text=title).wait_for()
        page.locator("#related .card-title").first.wait_for()
        browser.close()
    return requested


def _loopback_or_local(address: object) -> bool:
    """A connection to this machine: a loopback address, or a Unix socket (a path)."""
    if isinstance(address, str):
        return True
    host = str(address[0]) if isinstance(address, list) and address else ""
    return host in LOOPBACK_NAMES or ipaddress.ip_address(host).is_loopback


def _calls_out(call: str) -> bool:
    """A traced connect or send to an internet address other than loopback (a DNS query is one)."""
    if not re.match(r"\d+ +(connect|sendto|sendmsg)\(", call) or "AF_INET" not in call:
        return False
    return any(not ipaddress.ip_address(v4 or v6).is_loopback for v4, v6 in ADDRESS.findall(call))


def _written_by(call: str) -> Path | None:
    """The path a traced call writes to: a file opened for writing, a folder made, a rename's or link's target."""
    match = re.match(r"\d+ +(\w+)\(", call)
    paths = QUOTED.findall(call)
    if not match or not paths:
        return None
    name = match.group(1)
    if name in ("open", "openat", "creat") and (name == "creat" or WRITE_FLAGS.search(call)):
        return Path(paths[0])
    if name.startswith(("mkdir", "rename", "link", "symlink")):
        return Path(paths[-1])
    return None


def _inside(path: Path, allowed: tuple[Path, ...], machine: Machine) -> bool:
    """Where the programs may write: the index, the model cache; and what the system owns for a moment
    (/dev/null, POSIX semaphores in /dev/shm, Python's bytecode caches beside its code, the watch's own log)."""
    if not path.is_absolute():
        path = machine.cwd / path
    path = Path(os.path.normpath(path))
    return any(path == a or a in path.parents for a in allowed) or path == machine.log \
        or str(path) == os.devnull or path.parent == Path("/dev/shm") or "__pycache__" in path.parts
