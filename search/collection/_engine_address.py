"""Where an index's vector engine lives, as far as an index folder may say.

An index folder is data: anyone who can write it (or hand it over) chooses what its manifest says. A
manifest naming a Milvus server would make `query` connect to it when the index loads, and one naming a file
anywhere would make milvus-lite create a database there and start a server on it. So the address a manifest
gives is used only when it is what the user configured ($STORY_SEARCH_MILVUS_URI, or the address given to
this very build) or a milvus-lite file inside the index folder; a relative file name is taken as inside the
folder. Anything else is refused before a connection is made.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..vectorstore import AUTO, store_class

MILVUS = "milvus"
MILVUS_URI_ENV = "STORY_SEARCH_MILVUS_URI"


def engine_params(root: Path, kind: str, params: dict[str, Any], configured: str | None = None) -> dict[str, Any]:
    """`params` of engine `kind` for the index at `root`, its address checked; `configured` is an address the
    user gave for this call (a build's --index-params)."""
    if kind == AUTO and params.get("approximate") == MILVUS:  # Milvus once the collection grows
        return {**params, "approximate_params": engine_params(root, MILVUS, params.get("approximate_params", {}),
                                                              configured)}
    if kind != MILVUS:
        return params
    uri = str(params.get("uri", store_class(MILVUS).defaults["uri"]))
    allowed = {configured, os.environ.get(MILVUS_URI_ENV) or None} - {None}
    if _is_file(uri):
        path = Path(uri) if Path(uri).is_absolute() else root / uri
        if uri in allowed or _inside(path, root):
            return {**params, "uri": str(path)}
    elif uri in allowed:
        return params
    raise ConfigError(f"the index at {root}/ names Milvus at {uri!r}, which is neither a file inside the index folder "
                      f"nor the address this machine is configured with; an index folder cannot choose where this "
                      f"program connects. If you trust it, set {MILVUS_URI_ENV}={uri}")


def _is_file(uri: str) -> bool:
    """milvus-lite takes a file path; a server address has a scheme (http://, tcp://, unix:...)."""
    return "://" not in uri and not uri.startswith("unix:")


def _inside(path: Path, root: Path) -> bool:
    """`path` lies in the folder `root`, once every link on the way to either is followed."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))
