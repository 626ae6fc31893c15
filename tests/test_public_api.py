"""The architecture as docs/architecture.md draws it: public names, and imports that run one way only."""
from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import search
from search import errors
from tests.helpers import ROOT

PACKAGE = ROOT / "search"
# What each layer may import from the package's other layers; the modules in SHARED are for everyone.
SHARED = ("errors", "_environment", "_bounded_json", "_files")
LAYERS = {"corpus", "embedding", "vectorstore", "collection", "retrieval", "evaluation", "serving"}
ALLOWED = {
    "corpus": set(),
    "embedding": set(),
    "vectorstore": set(),
    "collection": {"corpus", "embedding", "vectorstore"},
    "retrieval": {"collection", "corpus", "embedding"},
    "evaluation": {"retrieval", "collection", "corpus"},
    "serving": {"retrieval", "collection", "corpus", "embedding", "vectorstore"},
    # The top-level modules: the package's face and the command line stand above every layer; the shared
    # modules and the console helper stand below them all; `python -m search` and app.py only start the CLI.
    "__init__": LAYERS,
    "cli": LAYERS | {"_console"},
    "__main__": {"cli"},
    "app": {"cli"},
    "_console": set(),
    **{name: set() for name in SHARED},
}


def documented_names() -> list[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- public-names -->(.*?)<!-- /public-names -->", text, re.S)
    assert block, "docs/architecture.md lost its public-names block"
    return re.findall(r"`(\w+)`", block.group(1))


def test_the_package_exports_what_the_docs_say() -> None:
    assert sorted(search.__all__) == sorted(documented_names())
    assert all(hasattr(search, name) for name in search.__all__)


def test_every_error_is_exported_and_says_what_to_do() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.StorySearchError)]
    assert sorted(c.__name__ for c in classes) == sorted(errors.__all__)
    for cls in classes:
        assert cls.__name__ in search.__all__, cls
        assert cls is errors.StorySearchError or (cls.__doc__ and len(cls.__doc__) > 40), f"{cls.__name__} undocumented"
    assert len({c.code for c in classes}) == len(classes), "each error needs its own stable code"


def imports_of(path: Path) -> list[tuple[str, str]]:
    """(imported package-relative module, the line) for each import of the package's own code in `path`."""
    module = path.relative_to(ROOT).with_suffix("").parts
    package = module[:-1] if module[-1] != "__init__" else module[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                target = node.module or ""
            if target == "search" or target.startswith("search."):
                found.append((target, ast.unparse(node)))
        elif isinstance(node, ast.Import):
            found += [(alias.name, ast.unparse(node)) for alias in node.names if alias.name.startswith("search.")]
    return found


SOURCES = sorted(PACKAGE.rglob("*.py")) + [ROOT / "app.py"]


def layer_of(path: Path) -> str:
    """The layer a module belongs to: its folder under search/, or its own name for a top-level module."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return parts[1] if len(parts) > 2 else parts[-1]


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_layers_import_one_way_through_public_faces(path: Path) -> None:
    layer = layer_of(path)
    for target, line in imports_of(path):
        parts = target.split(".")
        if len(parts) < 2 or parts[1] in (layer, *SHARED):
            continue
        assert parts[1] in ALLOWED[layer], f"{path.relative_to(ROOT)}: {layer} must not import {parts[1]}: {line}"
        # Another layer is reached through its face (its __init__), except serving's own api/ and ui/ parts.
        assert len(parts) == 2, f"{path.relative_to(ROOT)}: import from {parts[1]}'s public face: {line}"


def test_every_module_has_a_place_in_the_layering() -> None:
    """A new top-level module or layer must be given its allowed imports, not skipped by the test above."""
    assert {layer_of(p) for p in SOURCES} <= ALLOWED.keys()
