"""Indexes of the previous format (one generation folder per write), read only for what a rebuild keeps.

Stories added or changed through the API live only in the index, so a rebuild in the current format must
not drop them: `legacy_index` gives the build the stories, edits, corpus fingerprint and configuration of
such an index, checked against its checksums. Everything else in it is rebuilt.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _bounded_json
from ..corpus import Story
from ._config import Config
from ._edits import Edits
from ._manifest import MANIFEST, SEGMENT_NAME

FORMAT = 1


@dataclass(frozen=True)
class LegacyIndex:
    stories: list[Story]
    edits: Edits
    corpus_fingerprint: str
    model_id: str
    config: Config
    manifest: dict[str, Any] = field(default_factory=dict)  # nothing of it is reused as it is
    generation: None = None


def legacy_index(root: Path) -> LegacyIndex | None:
    """The previous-format index at `root`, or None when there is none or it does not check out."""
    try:
        manifest = _bounded_json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT or SEGMENT_NAME.fullmatch(str(manifest["generation"])):
            return None
        stories_file = root / str(manifest["generation"]) / "stories.jsonl"
        expected = manifest["files"]["stories.jsonl"]["sha256"]
        data = stories_file.read_bytes()
        if stories_file.is_symlink() or hashlib.sha256(data).hexdigest() != expected:
            return None
        stories = [Story.from_dict(_bounded_json.loads(line)) for line in data.decode("utf-8").splitlines() if line]
        config = manifest["config"]
        return LegacyIndex(stories, Edits.from_dict(manifest.get("edits", {})), manifest["corpus_fingerprint"],
                           manifest["model"]["id"],
                           Config.from_dict({k: config[k] for k in ("model", "index_type", "index_params")}))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
