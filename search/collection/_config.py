"""One configuration for every component, saved in the manifest beside the index it built."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..embedding import canonical_model_id
from ..vectorstore import INDEX_TYPES, check_config


@dataclass(frozen=True)
class Config:
    model: str = ""  # empty: the default model (see embedding.DEFAULT_MODEL)
    index_type: str = "auto"  # exact below vectorstore.choice.APPROXIMATE_FROM stories, IVF above; or an engine kind
    index_params: dict[str, Any] = field(default_factory=dict)  # the engine's (for auto: threshold, approximate...)
    # What the page calls the collection and the questions it offers (collection.about.describe).
    name: str = ""
    description: str = ""
    examples: tuple[str, ...] = ()
    map: bool = True  # lay the collection out as a map at build time (collection.atlas)

    @property
    def model_id(self) -> str:
        return canonical_model_id(self.model or None)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "model": self.model_id, "examples": list(self.examples)}

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> Config:
        """The config a manifest saved, checked as a user's would be (`ConfigError`, `ValueError`)."""
        unknown = sorted(set(saved) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown settings {', '.join(unknown)}")
        model, kind, params = saved.get("model", ""), saved.get("index_type", "auto"), saved.get("index_params", {})
        if not isinstance(model, str) or kind not in INDEX_TYPES or not isinstance(params, dict):
            raise ValueError("model must be a name, index_type an engine, index_params an object")
        check_config(kind, params)
        name, description = saved.get("name", ""), saved.get("description", "")
        examples, laid_out = saved.get("examples", []), saved.get("map", True)
        if not (isinstance(name, str) and isinstance(description, str) and isinstance(laid_out, bool)
                and isinstance(examples, list | tuple) and all(isinstance(q, str) for q in examples)):
            raise ValueError("name and description must be text, examples a list of questions, map true or false")
        return cls(model, kind, params, name, description, tuple(examples), laid_out)
