"""A real Ray cluster of several nodes on this machine, for the slow test and the build benchmark.

Each node is a `ray start --block` process (stopping it stops that node's processes, and nothing else of
Ray's on the machine), all inside one network namespace with nothing but a loopback device: Ray then picks
127.0.0.1 as every node's address and no packet can leave. Needs root and iproute2, as the Milvus one does.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .milvus_netns import loopback_namespace

ROOT = Path(__file__).resolve().parents[1]
PORT = 6391
START_SECONDS = 180


def unavailable() -> str | None:
    """Why a local cluster cannot be started here, or None when it can."""
    if os.geteuid() != 0:
        return "creating a network namespace needs root"
    if not shutil.which("ip"):
        return "iproute2's `ip` command is not installed"
    if importlib.util.find_spec("ray") is None:
        return "Ray is not installed (pip install -e '.[ray]'; `make test-slow` does)"
    return None


@dataclass
class LocalCluster:
    namespace: str
    address: str
    nodes: list[subprocess.Popen]
    env: dict[str, str]

    def run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
        """Run a command inside the cluster's namespace, with the cluster's environment."""
        return subprocess.run(["ip", "netns", "exec", self.namespace, *args], env=self.env, text=True,
                              capture_output=True, **kwargs)

    def popen(self, args: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.namespace, *args], env=self.env, text=True, **kwargs)

    def build(self, *args: str) -> list[str]:
        """The command line of `python -m search build` against this cluster."""
        return [sys.executable, "-m", "search", "build", "--ray", self.address, *args]

    def in_namespace(self, pid: int) -> bool:
        """Whether process `pid` runs inside this cluster's namespace (so it is one of its processes)."""
        mine = self.run(["readlink", "/proc/self/ns/net"]).stdout.strip()
        try:
            return os.readlink(f"/proc/{pid}/ns/net") == mine
        except OSError:
            return False

    def processes(self, title: str) -> list[int]:
        """Pids of this cluster's processes whose command line starts with `title` ("ray::ShardEncoder")."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmdline.startswith(title) and self.in_namespace(int(entry.name)):
                found.append(int(entry.name))
        return found


def _alive_nodes(cluster: LocalCluster) -> int:
    probe = (f"import ray; ray.init(address='{cluster.address}', log_to_driver=False, configure_logging=False); "
             "print(sum(1 for n in ray.nodes() if n['Alive']))")
    out = cluster.run([sys.executable, "-c", probe], timeout=120)
    return int(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 and out.stdout.strip() else 0


@contextlib.contextmanager
def local_cluster(temp: Path, nodes: int = 2, cpus_per_node: int = 1) -> Iterator[LocalCluster]:
    """A head and `nodes - 1` more nodes, `cpus_per_node` CPUs each, session files under `temp` (keep its path
    short: Ray's sockets live there). Waits until every node has joined; stops them all on exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}  # a token kept out of ~/.ray
    ray = str(Path(sys.executable).with_name("ray"))
    address = f"127.0.0.1:{PORT}"
    with loopback_namespace() as namespace:
        cluster = LocalCluster(namespace, address, [], env)
        try:
            cluster.nodes.append(cluster.popen(
                [ray, "start", "--head", "--block", f"--port={PORT}", "--node-ip-address=127.0.0.1",
                 f"--num-cpus={cpus_per_node}", "--include-dashboard=false", "--disable-usage-stats",
                 f"--temp-dir={temp}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for _ in range(nodes - 1):
                cluster.nodes.append(cluster.popen(
                    [ray, "start", "--block", f"--address={address}", "--node-ip-address=127.0.0.1",
                     f"--num-cpus={cpus_per_node}", "--disable-usage-stats"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            deadline = time.monotonic() + START_SECONDS
            while _alive_nodes(cluster) < nodes:
                if time.monotonic() > deadline or any(p.poll() is not None for p in cluster.nodes):
                    raise RuntimeError(f"the local Ray cluster did not come up with {nodes} nodes")
            yield cluster
        finally:
            for node in reversed(cluster.nodes):
                node.send_signal(signal.SIGTERM)  # `ray start --block` stops its node's processes
            deadline = time.monotonic() + 30
            for node in reversed(cluster.nodes):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.wait(timeout=max(deadline - time.monotonic(), 0.1))
            for pid in cluster.processes(""):  # whatever did not stop: only this namespace's processes
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for node in cluster.nodes:
                node.wait()
