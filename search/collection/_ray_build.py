"""A build's embedding spread over a Ray cluster: a pool of encoder actors, shards of stories in, vectors out.

Everything but the embedding stays where it was: the driver (the machine running `build --ray`) reads the
corpus, merges copies, builds BM25, the map and the index folder, exactly as a local build does, and hands the
texts to embed to the cluster shard by shard as they are read (`embed_stream.EmbeddingStream` runs this
encoder instead of the local model). Reading stays on the driver because merging copies needs every story
in one place and the corpus then need not be on a shared file system; a shard's text is about as many bytes
as its vectors, so the driver's network is not what limits a build.

- One actor per node by default (`actors_per_node`), each holding the model once and embedding with its share
  of the node's cores; every actor first embeds a fixed sentence, and a node whose model answers otherwise than
  the driver's is refused, so an index never mixes two models' vectors.
- Each actor has at most `IN_FLIGHT` shards queued, so a slow node takes less work and nothing waits on it.
- Vectors come back to the driver in order and go into the resume cache as they arrive: a killed driver
  resumes from there. A lost worker (its process or node gone) fails only the shards it held; they go to the
  other actors, and a replacement actor is started on its node while that node is alive.
- `auto` starts a private Ray instance on this machine for the build, bound to the loopback address, its
  session files in the index folder's `cache/ray` (else the model cache's, when the index folder's path is too
  long for a Unix socket), and stops it afterwards. Usage statistics are switched off and no dashboard starts.
"""
from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._environment import cache_root
from ..embedding import load_embedder
from ..errors import ConfigError, StorySearchError

log = logging.getLogger(__name__)
AUTO = "auto"
SHARD = 128  # stories per task: a few seconds of an actor's work, so a lost worker costs little
IN_FLIGHT = 2  # shards queued per actor: the next is there when one finishes
RESTARTS = 3  # encoders started again on one node before it is given up (a node that kills each one)
START_SECONDS = 300  # for every encoder to load its model (a cluster with no free CPU never starts them)
CHECK = "query: a fixed sentence every encoder embeds first, so nodes with another model are found out"
SOCKET_LIMIT = 107  # bytes in a Unix socket path (Linux); Ray keeps its sockets in its session folder
SESSION_SUFFIX = "/session_2000-01-01_00-00-00_000000_4194304/sockets/plasma_store"
QUIET = {"RAY_USAGE_STATS_ENABLED": "0"}  # no usage statistics sent anywhere
# A private instance: bound to the loopback address (Ray binds the machine's network address unless it thinks
# it runs alone on a desktop OS), and a token that only this build's processes hold, kept in their environment
# (Ray's default writes one to ~/.ray) so no other local user can run code on it.
PRIVATE = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token"}
TOKEN = secrets.token_hex(32)  # one per process: Ray reads it once


@dataclass(frozen=True)
class Cluster:
    """Where a build embeds: `address` of a running Ray cluster ("host:port", "ray://host:10001"), or `auto`
    for a private instance on this machine; `actors_per_node` encoders on each node."""

    address: str
    actors_per_node: int = 1

    def __post_init__(self) -> None:
        if self.actors_per_node < 1:
            raise ConfigError(f"actors per node must be at least 1, got {self.actors_per_node}")
        if not self.address.strip():
            raise ConfigError("give --ray a cluster's address (host:port) or 'auto'")

    def check(self) -> None:
        """Refuse before any work when Ray is not installed."""
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise ConfigError("build --ray needs Ray, an optional extra: pip install 'story-search[ray]'")

    def encoder(self, model_id: str, root: Path) -> RayEncoder:
        self.check()
        return RayEncoder(self, model_id, root)


def session_folder(root: Path) -> Path:
    """Where a private Ray instance keeps its session: the index folder's cache, else the model cache's."""
    for folder in (root / "cache" / "ray", cache_root() / "ray"):
        if len(str(folder.resolve())) + len(SESSION_SUFFIX) <= SOCKET_LIMIT:
            return folder
    raise ConfigError(f"the paths of {root}/ and of the model cache are too long for Ray's sockets (Unix "
                      f"sockets take at most {SOCKET_LIMIT} bytes): build into a shorter --index-dir, or start "
                      "a cluster with `ray start --head` and give its address to --ray")


class ShardEncoder:
    """One encoder on a cluster node (a Ray actor): the model, loaded once, on `cpus` of the node's cores."""

    def __init__(self, model_id: str, slot: int, slots: int) -> None:
        """`slot` of `slots` encoders on this node: each takes its own share of the cores (the model sizes its
        thread pool by the cores it may use); one alone uses them all."""
        if slots > 1:
            available = sorted(os.sched_getaffinity(0))
            share = np.array_split(np.array(available), slots)[slot % slots]
            os.sched_setaffinity(0, share.tolist() if len(share) else [available[slot % len(available)]])
        self.embedder = load_embedder(model_id)

    def describe(self) -> tuple[str, int, np.ndarray, str, int]:
        """(model id, dimension, the check sentence's vector, host, process id)."""
        import socket

        vector = self.embedder.embed([CHECK], kind="query")[0]
        return self.embedder.model_id, self.embedder.dim, vector, socket.gethostname(), os.getpid()

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed(texts)


class RayEncoder:
    """The `embed_stream.Encoder` of a Ray cluster (see the module docstring)."""

    batch = SHARD

    def __init__(self, cluster: Cluster, model_id: str, root: Path) -> None:
        self.cluster = cluster
        reference = load_embedder(model_id)
        self.model_id, self.dim = reference.model_id, reference.dim
        self._expected = reference.embed([CHECK], kind="query")[0]
        self._environ = dict(os.environ)
        os.environ.update(QUIET)
        self._session = session_folder(root) if cluster.address == AUTO else None
        if self._session is not None:
            os.environ.update(PRIVATE, RAY_AUTH_TOKEN=TOKEN)  # before Ray is imported: it reads them then
        import ray

        try:
            if self._session is not None:
                self._session.mkdir(parents=True, exist_ok=True)
                ray.init(include_dashboard=False, _temp_dir=str(self._session.resolve()), log_to_driver=False,
                         configure_logging=False, _node_ip_address="127.0.0.1")
            else:
                ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise StorySearchError(f"cannot reach the Ray cluster at {cluster.address}: {exc}; start it with "
                                   "`ray start --head` (see docs/operating.md) or use --ray auto") from None
        self._actor_class = ray.remote(ShardEncoder)
        self._actors: dict[Any, tuple[str, int]] = {}  # actor -> (node id, slot)
        self._lost: dict[str, int] = {}  # encoders lost per node
        for node in self._nodes():
            for slot in range(cluster.actors_per_node):
                self._start(node, slot)
        if not self._actors:
            raise StorySearchError(f"the Ray cluster at {cluster.address} has no node with a free CPU")
        self._check_models()

    # --- the pool ------------------------------------------------------------------------------------------
    def _nodes(self) -> list[dict[str, Any]]:
        import ray

        return [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]

    def _start(self, node: dict[str, Any], slot: int) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        share = node["Resources"]["CPU"] / self.cluster.actors_per_node
        actor = self._actor_class.options(
            num_cpus=share, max_restarts=0, max_task_retries=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
        ).remote(self.model_id, slot, self.cluster.actors_per_node)
        self._actors[actor] = (node["NodeID"], slot)
        return actor

    def _check_models(self) -> None:
        import ray
        from ray.exceptions import GetTimeoutError, RayError

        try:
            described = ray.get([a.describe.remote() for a in self._actors], timeout=START_SECONDS)
        except GetTimeoutError:
            raise StorySearchError(f"the encoders on the Ray cluster did not start within {START_SECONDS} s: its "
                                   "CPUs may all be taken (`ray status` shows them)") from None
        except RayError as exc:
            raise StorySearchError(f"an encoder could not start on the Ray cluster ({str(exc).strip()[-300:]}): "
                                   "install story-search and its model on every node (docs/operating.md)") from None
        self.workers = [(host, pid) for *_, host, pid in described]
        for model_id, dim, vector, host, _ in described:
            if model_id != self.model_id or dim != self.dim or float(vector @ self._expected) < 0.999:
                raise StorySearchError(
                    f"the encoder on {host} gives other vectors than this machine's {self.model_id}: install the "
                    "same story-search version and model on every node (docs/operating.md)")
        log.info("embedding on %d encoders across %d Ray nodes", len(self._actors),
                 len({node for node, _ in self._actors.values()}))

    def _replace(self, lost: Any) -> None:
        """Drop a lost actor; start another on its node if that node is still alive."""
        node_id, slot = self._actors.pop(lost)
        self._lost[node_id] = self._lost.get(node_id, 0) + 1
        alive = [n for n in self._nodes() if n["NodeID"] == node_id]
        log.warning("lost an encoder on Ray node %s; its shards go to the others", node_id[:12])
        if alive and self._lost[node_id] <= RESTARTS:
            self._start(alive[0], slot)
        if not self._actors:
            raise StorySearchError("every encoder on the Ray cluster was lost; run the build again (what was "
                                   "embedded is kept)")

    # --- Encoder -------------------------------------------------------------------------------------------
    def run(self, batches: Iterator[list[str]]) -> Iterator[np.ndarray]:
        import ray
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

        in_flight: dict[Any, tuple[int, list[str], Any]] = {}  # task -> (shard number, texts, actor)
        retry: list[tuple[int, list[str]]] = []
        finished: dict[int, np.ndarray] = {}
        sent = shards = 0
        exhausted = False
        while True:
            for actor in list(self._actors):
                while sum(1 for _, _, a in in_flight.values() if a is actor) < IN_FLIGHT:
                    if retry:
                        number, texts = retry.pop(0)
                    elif not exhausted:
                        following = next(batches, None)
                        if following is None:
                            exhausted = True
                            break
                        texts, number, shards = following, shards, shards + 1
                    else:
                        break
                    in_flight[actor.embed.remote(texts)] = (number, texts, actor)
            if not in_flight:
                return
            (done,), _ = ray.wait(list(in_flight), num_returns=1)
            number, texts, actor = in_flight.pop(done)
            try:
                finished[number] = ray.get(done)
            except (RayActorError, ActorDiedError, ActorUnavailableError):
                retry.append((number, texts))
                if actor in self._actors:
                    self._replace(actor)
                continue
            while sent in finished:
                yield finished.pop(sent)
                sent += 1

    def close(self) -> None:
        import ray

        for actor in self._actors:
            ray.kill(actor)
        self._actors.clear()
        ray.shutdown()
        os.environ.clear()
        os.environ.update(self._environ)
        if self._session is not None:
            shutil.rmtree(self._session, ignore_errors=True)
