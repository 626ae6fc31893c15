"""What `add`, `delete` and the write API changed since the index was last built from its corpus.

An index is built from corpus files, then edited (stories added over HTTP, a bad story deleted). A later
`build` re-reads the corpus, and without this record it would silently undo every edit (`make run` builds
on every start). With it, a build whose corpus is unchanged keeps the index as edited, and a build whose
corpus changed stops and asks (`build.build_index`): replaying edits over a changed corpus can't be done
safely, since ids derived from titles may now name other stories.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Edits:
    upserted: frozenset[str] = frozenset()  # ids whose story the index holds as added or updated by a write
    deleted: frozenset[str] = frozenset()   # ids a write removed

    def __bool__(self) -> bool:
        return bool(self.upserted or self.deleted)

    def after_upsert(self, ids: Iterable[str]) -> Edits:
        ids = frozenset(ids)
        return Edits(self.upserted | ids, self.deleted - ids)

    def after_delete(self, ids: Iterable[str]) -> Edits:
        ids = frozenset(ids)
        return Edits(self.upserted - ids, self.deleted | ids)

    def summary(self) -> str:
        return f"{len(self.upserted)} added or updated, {len(self.deleted)} deleted"

    def to_dict(self) -> dict[str, list[str]]:
        return {"upserted": sorted(self.upserted), "deleted": sorted(self.deleted)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Edits:
        """The edits a segment saved; anything but two lists of ids is a `ValueError`."""
        lists = [d.get("upserted", []), d.get("deleted", [])]
        if not all(isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in lists):
            raise ValueError("edits must be lists of story ids")
        return cls(frozenset(lists[0]), frozenset(lists[1]))
