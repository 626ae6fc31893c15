"""What the operator sets for the server, read from the environment once and checked before anything loads:
this is the one module of the server that reads it.

A setting that cannot work is a `ConfigError` naming the variable, raised by `serve` before the index and
the model load, so a typo fails at once with one line instead of a server that silently refuses everyone.
"""
from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ConfigError
from ._connections import ConnectionLimits

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
MAX_WORKERS = 64
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
# Binding to every address names no host a client would use; those names come from the allowlist.
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})


@dataclass(frozen=True)
class Settings:
    """`write_token` empty switches writes off; `trusted_proxies` empty means no forwarded header is believed;
    `json_access_log` replaces uvicorn's access lines with JSON ones."""

    write_token: str = ""
    allowed_hosts: frozenset[str] = LOOPBACK_NAMES
    trusted_proxies: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    connections: ConnectionLimits = ConnectionLimits()
    json_access_log: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, listen_host: str | None = None) -> Settings:
        """The settings of $STORY_SEARCH_TOKEN, $STORY_SEARCH_ALLOWED_HOSTS, $STORY_SEARCH_TRUSTED_PROXIES,
        $STORY_SEARCH_CORS_ORIGINS, $STORY_SEARCH_ACCESS_LOG and the connection limits
        (`ConnectionLimits.from_env`); a specific `listen_host` (not a wildcard) is an allowed host too."""
        env = os.environ if environ is None else environ
        hosts = {_allowed(name, "STORY_SEARCH_ALLOWED_HOSTS") for name in _listed(env, "STORY_SEARCH_ALLOWED_HOSTS")}
        if listen_host and listen_host not in _WILDCARD_BINDS:
            hosts.add(_allowed(listen_host, "the listen address"))
        return cls(write_token=check_token(env.get("STORY_SEARCH_TOKEN", "")),
                   allowed_hosts=LOOPBACK_NAMES | hosts,
                   trusted_proxies=tuple(_proxy(p) for p in _listed(env, "STORY_SEARCH_TRUSTED_PROXIES")),
                   cors_origins=tuple(_listed(env, "STORY_SEARCH_CORS_ORIGINS")),
                   connections=ConnectionLimits.from_env(env),
                   json_access_log=env.get("STORY_SEARCH_ACCESS_LOG", "").strip().lower() == "json")


def listen_address(host: str | None, port: int | None, environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Host and port, falling back to $STORY_SEARCH_HOST/$STORY_SEARCH_PORT, then 127.0.0.1:7860.

    A bad port is a `ConfigError` naming where it came from, raised before the index and model load (seconds),
    instead of a traceback from `int()` or from uvicorn once everything has loaded.
    """
    env = os.environ if environ is None else environ
    host = host or env.get("STORY_SEARCH_HOST") or DEFAULT_HOST
    if not port:
        value = env.get("STORY_SEARCH_PORT") or str(DEFAULT_PORT)
        try:
            port = int(value)
        except ValueError:
            port = 0
        if not 0 < port < 65536:
            raise ConfigError(f"STORY_SEARCH_PORT must be a port number from 1 to 65535, got {value!r}")
    elif not 0 < port < 65536:
        raise ConfigError(f"port must be from 1 to 65535, got {port}")
    return host, port


def worker_count(workers: int | None, environ: Mapping[str, str] | None = None) -> int:
    """Worker processes: `workers`, else $STORY_SEARCH_WORKERS, else the cores this process may use (its CPU
    affinity, which containers and `taskset` narrow); a bad value is a `ConfigError` raised before anything
    loads."""
    env = os.environ if environ is None else environ
    source = "--workers"
    if workers is None:
        value = env.get("STORY_SEARCH_WORKERS", "").strip()
        if not value:
            return min(len(os.sched_getaffinity(0)), MAX_WORKERS)
        source = "STORY_SEARCH_WORKERS"
        try:
            workers = int(value)
        except ValueError:
            raise ConfigError(f"STORY_SEARCH_WORKERS must be a whole number from 1 to {MAX_WORKERS}, "
                              f"got {value!r}") from None
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"{source} must be from 1 to {MAX_WORKERS}, got {workers}")
    return workers


def check_token(token: str) -> str:
    """The write token as clients must send it; "" (writes off) when unset or blank.

    A token that starts or ends with whitespace, or holds control characters, cannot be sent intact in an
    `Authorization` header (servers trim header values), so it would refuse every writer with no hint why.
    """
    if not token.strip():
        return ""
    if token != token.strip():
        raise ConfigError("STORY_SEARCH_TOKEN starts or ends with whitespace, which no client can send in a "
                          "header; remove the surrounding spaces or newlines")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in token):
        raise ConfigError("STORY_SEARCH_TOKEN holds control characters, which no client can send in a header; "
                          "use printable characters only")
    try:
        token.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError("STORY_SEARCH_TOKEN is not valid UTF-8; set it as UTF-8 text") from None
    return token


def host_name(value: str) -> str | None:
    """A Host header or configured name as the allowlist holds it: lower case, without port, brackets or
    trailing dot ("[::1]:7860" -> "::1"); None when it is no host name at all."""
    name = value.strip().lower()
    if any(c in name for c in "/@?#*, \t\\"):
        return None
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    name = name.rstrip(".")
    return name or None


def _allowed(value: str, source: str) -> str:
    name = host_name(value)
    if name is None:
        raise ConfigError(f"{source}: {value!r} is not a host name or address (give names like "
                          "stories.example.org, without scheme, path or wildcard)")
    return name


def _proxy(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ConfigError(f"STORY_SEARCH_TRUSTED_PROXIES: {value!r} is not an IP address or network "
                          "(e.g. 127.0.0.1 or 10.0.0.0/8)") from None
    return value


def _listed(env: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]
