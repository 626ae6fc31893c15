"""What a collection is called, what it holds and which questions show it off: kept in the index's config.

The page names the collection it serves instead of assuming one. Each value comes from, in order: what the
build was given (`build --name/--description/--examples`), a `collection.json` beside the corpus files
(the seeds ship one), what the index already had, and for the name alone the corpus's own name, tidied
("scifact_abstracts.csv" -> "Scifact abstracts"). A collection given no example questions is shown the
telling words of its map's largest topics instead (`suggested_examples`): searches that find a part of it.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import _bounded_json
from ..errors import CorpusError

SIDECAR = "collection.json"  # not a story file: corpus readers skip .json
MAX_EXAMPLES = 8
MAX_EXAMPLE_CHARS = 200


def read_examples(path: str | Path) -> tuple[str, ...]:
    """Example questions from a text file: one a line; blank lines and lines starting with # are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(str(path), f"cannot read the examples file ({exc})") from None
    return checked_examples([line for line in lines if not line.lstrip().startswith("#")], str(path))


def checked_examples(questions: Sequence[Any], source: str) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(q.strip() for q in questions if isinstance(q, str) and q.strip()))
    too_long = next((q for q in cleaned if len(q) > MAX_EXAMPLE_CHARS), None)
    if too_long:
        raise CorpusError(source, f"example question of {len(too_long)} characters; keep each under "
                                  f"{MAX_EXAMPLE_CHARS}: {too_long[:60]!r}...")
    return cleaned[:MAX_EXAMPLES]


def _sidecar(paths: Sequence[Path]) -> dict[str, Any]:
    """The first corpus folder's collection.json (or the one beside the first corpus file), if any."""
    for p in paths:
        path = (p if p.is_dir() else p.parent) / SIDECAR
        if path.is_file():
            try:
                data = _bounded_json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CorpusError(str(path), f"not readable JSON ({exc})") from None
            if not isinstance(data, dict):
                raise CorpusError(str(path), "must be a JSON object with name, description and examples")
            return {**data, "examples": checked_examples(data.get("examples") or [], str(path))}
    return {}


def corpus_name(paths: Sequence[Path]) -> str:
    """What the corpus is called, as a title: a lone file's or folder's name ("scifact_abstracts.csv" ->
    "Scifact abstracts"); for several, the folder they share, else the first one's."""
    resolved = [p.resolve() for p in paths]
    if len(resolved) == 1:
        named = resolved[0]
    else:
        parents = {p.parent for p in resolved}
        named = parents.pop() if len(parents) == 1 else resolved[0]
    stem = named.name if named.is_dir() else named.name.split(".")[0]
    words = re.sub(r"[\s_.-]+", " ", stem).strip() or named.name
    return words[:1].upper() + words[1:]


def suggested_examples(topic_labels: Sequence[str], limit: int = 4) -> tuple[str, ...]:
    """Searches that show a collection given no example questions: its largest topics' telling words, as a
    topic label lists them ("smuggling · police · training" -> "smuggling police training")."""
    words = (" ".join(label.split(" · ")) for label in topic_labels if label.strip())
    return tuple(dict.fromkeys(words))[:limit]


def describe(paths: Sequence[str | Path], previous: dict[str, Any], *, name: str | None = None,
             description: str | None = None, examples: Sequence[str] | None = None) -> dict[str, Any]:
    """name, description and examples for the collection built from `paths` (see the module docstring)."""
    folders = [Path(p) for p in paths]
    sidecar = _sidecar(folders)

    def pick(key: str, given: Any, fallback: Any) -> Any:
        for value in (given, sidecar.get(key), previous.get(key)):
            if value is not None and value != "":
                return value
        return fallback

    return {"name": str(pick("name", name, corpus_name(folders))).strip(),
            "description": str(pick("description", description, "")).strip(),
            "examples": tuple(pick("examples", None if examples is None else checked_examples(examples, "examples"),
                                   ()))}
