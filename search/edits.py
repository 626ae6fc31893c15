"""What `add`, `delete` and the write API changed since the index was last built from its corpus.

An index is built from corpus files, then edited (stories added over HTTP, a bad story deleted). A later
`build` re-reads the corpus, and without this record it would silently undo every edit: `make run`
rebuilds when the shipped corpus changes. The index keeps the ids it upserted and deleted in its manifest,
and a rebuild replays them over the fresh corpus (`build --discard-edits` drops them on purpose).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .story import Story


@dataclass(frozen=True)
class Edits:
    upserted: frozenset[str] = frozenset()  # ids whose story the index holds as added or updated by a write
    deleted: frozenset[str] = frozenset()   # ids a write removed; a rebuild leaves them out of the corpus

    def __bool__(self) -> bool:
        return bool(self.upserted or self.deleted)

    def after_upsert(self, ids: Iterable[str]) -> "Edits":
        ids = frozenset(ids)
        return Edits(self.upserted | ids, self.deleted - ids)

    def after_delete(self, ids: Iterable[str]) -> "Edits":
        ids = frozenset(ids)
        return Edits(self.upserted - ids, self.deleted | ids)

    def replay(self, corpus: Sequence[Story], held: Mapping[str, Story]) -> list[Story]:
        """The corpus as the edits left it: deleted ids out, upserted stories (as `held` has them) in."""
        upserts = [held[i] for i in sorted(self.upserted) if i in held]
        replaced = self.deleted | {s.id for s in upserts}
        return [s for s in corpus if s.id not in replaced] + upserts

    def summary(self) -> str:
        return f"{len(self.upserted)} added or updated, {len(self.deleted)} deleted"

    def to_dict(self) -> dict[str, list[str]]:
        return {"upserted": sorted(self.upserted), "deleted": sorted(self.deleted)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Edits":
        d = d or {}
        return cls(frozenset(d.get("upserted", ())), frozenset(d.get("deleted", ())))
