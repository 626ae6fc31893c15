"""One configuration for every component, saved in the manifest beside the index it built."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..embedding import canonical_model_id


@dataclass(frozen=True)
class Config:
    model: str = ""  # empty: the default model (see embedding.DEFAULT_MODEL)
    index_type: str = "auto"  # exact below vectorstore.choice.APPROXIMATE_FROM stories, IVF above; or an engine kind
    index_params: dict[str, Any] = field(default_factory=dict)  # the engine's (for auto: threshold, approximate...)
    chunk_size: int = 512  # stories embedded between two saves of the resume cache
    # What the page calls the collection and the questions it offers (collection.about.describe).
    name: str = ""
    description: str = ""
    examples: tuple[str, ...] = ()

    @property
    def model_id(self) -> str:
        return canonical_model_id(self.model or None)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "model": self.model_id, "examples": list(self.examples)}

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> Config:
        """The config a manifest saved; keys of other versions are ignored."""
        known = {k: v for k, v in saved.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "examples": tuple(known.get("examples") or ())})
