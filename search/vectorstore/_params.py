"""What each engine parameter accepts, checked in one place before anything is embedded.

Left to the engine, a bad value surfaces far from the configuration that holds it: HNSW `M` 0 is a FAISS
assertion that aborts the process, `M` 1 a segfault, and IVF `nprobe` -1 is accepted by the build and then
crashes every query. Engines declare a `Spec` per parameter beside its default; `check` refuses what a
spec does not accept with a message naming the engine, the parameter, what it takes and what it got.
"""
from __future__ import annotations

import numbers
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

C_INT_MAX = 2**31 - 1  # FAISS takes HNSW's beam widths as C ints: past this its wrapper raises OverflowError


@dataclass(frozen=True)
class Spec:
    """The values one parameter accepts, and how a refusal describes them ("an integer ≥ 1")."""

    describe: str
    accepts: Callable[[Any], bool]


def _is_integer(value: Any) -> bool:
    """Whole numbers only: True is not 1 (bool subclasses int) and 3.0 is not 3, since FAISS would truncate
    a 3.5 silently and accepting 3.0 but not 3.5 would only move that line; JSON writes a count as 3."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer(minimum: int, maximum: int | None = None) -> Spec:
    bounds = f"≥ {minimum}" if maximum is None else f"from {minimum} to {maximum}"
    return Spec(f"an integer {bounds}",
                lambda v: _is_integer(v) and v >= minimum and (maximum is None or v <= maximum))


def one_of(*choices: str) -> Spec:
    return Spec(f"one of {', '.join(choices)}", lambda v: isinstance(v, str) and v in choices)


def optional(spec: Spec) -> Spec:
    """`spec` or null, for parameters whose default is worked out later (IVF's bucket count)."""
    return Spec(f"{spec.describe}, or null", lambda v: v is None or spec.accepts(v))


BOOLEAN = Spec("true or false", lambda v: isinstance(v, bool))
TEXT = Spec("a non-empty string", lambda v: isinstance(v, str) and bool(v.strip()))
OBJECT = Spec("a JSON object", lambda v: isinstance(v, Mapping))
FRACTION = Spec("a number from 0 to 1",  # NaN fails both comparisons, so it is refused too
                lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 <= float(v) <= 1)


def check(owner: str, specs: Mapping[str, Spec], params: Mapping[str, Any]) -> None:
    """Refuse a misspelt name (building with the default would hide the mistake), then any value its spec
    does not accept; `owner` is the index type, as the user wrote it."""
    unknown = sorted(set(params) - set(specs))
    if unknown:
        raise ConfigError(f"index type {owner} takes no parameter {', '.join(unknown)}; "
                          f"it takes: {', '.join(specs) or 'none'}")
    for name, value in params.items():
        if not specs[name].accepts(value):
            raise ConfigError(f"{owner} parameter {name} must be {specs[name].describe}, not {reprlib.repr(value)}")
