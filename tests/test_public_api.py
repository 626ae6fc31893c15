"""The architecture as docs/architecture.md draws it: public names, private modules behind faces that export what
other layers use, and imports that run one way only."""
from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
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


def from_imports(path: Path) -> Iterator[tuple[str, ast.ImportFrom]]:
    """(the absolute module, the statement) for each `from ... import` in `path`, relative ones resolved."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                yield ".".join([*base, *(node.module.split(".") if node.module else [])]), node
            else:
                yield node.module or "", node


def imports_of(path: Path) -> list[tuple[str, str]]:
    """(imported package-relative module, the line) for each import of the package's own code in `path`."""
    found = [(target, ast.unparse(node)) for target, node in from_imports(path)
             if target == "search" or target.startswith("search.")]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, ast.unparse(node)) for alias in node.names if alias.name.startswith("search.")]
    return found


def names_imported(path: Path) -> Iterator[tuple[str, str]]:
    """(module, name) for each name `path` takes with `from module import name`."""
    for target, node in from_imports(path):
        for alias in node.names:
            yield target, alias.name


SOURCES = sorted(PACKAGE.rglob("*.py")) + [ROOT / "app.py"]
# Who may use a layer's face: the package's other layers and top-level modules, app.py, and the benchmarks.
CALLERS = SOURCES + sorted((ROOT / "benchmarks").rglob("*.py"))
# Each layer's folder, and serving's parts api/ and ui/: a package whose __init__.py is the face of its modules.
FACES = sorted(p.parent for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE)
# Top-level modules anyone may import: the package's face, `python -m search`, the CLI and the exception tree.
TOP_LEVEL = {"__init__", "__main__", "cli", "errors"}


def dotted(folder: Path) -> str:
    return ".".join(folder.relative_to(ROOT).parts)


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


@pytest.mark.parametrize("face", FACES, ids=dotted)
def test_every_module_behind_a_face_is_private(face: Path) -> None:
    """So a new module can't become public by accident: a layer offers only what its __init__ exports."""
    public = [p.name for p in face.glob("*.py") if not p.name.startswith("_")]
    assert not public, f"{dotted(face)}: name these modules with a leading _ (reach them through the face): {public}"


def test_top_level_modules_other_than_the_documented_ones_are_private() -> None:
    public = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")} | {"__init__", "__main__"}
    assert public == TOP_LEVEL, f"name new top-level helper modules with a leading _: {sorted(public - TOP_LEVEL)}"


@pytest.mark.parametrize("face", FACES, ids=dotted)
def test_a_face_exports_only_what_is_used_outside_its_layer(face: Path) -> None:
    """A name only the layer itself or the tests use stays in its private module, where tests import it."""
    outside = {name for path in CALLERS if not path.is_relative_to(face)
               for target, name in names_imported(path) if target == dotted(face)}
    unused = sorted(set(importlib.import_module(dotted(face)).__all__) - outside)
    assert not unused, (f"{dotted(face)} exports names no other layer, cli.py, app.py or benchmark imports: {unused}; "
                        "take them out of __all__ and import them in tests from their private module")


@pytest.mark.parametrize("path", CALLERS, ids=[str(p.relative_to(ROOT)) for p in CALLERS])
def test_callers_take_from_a_face_only_what_it_exports(path: Path) -> None:
    """The other half of a face: what another layer, the CLI, app.py or a benchmark takes from it is exported."""
    faces = {dotted(face): face for face in FACES}
    for target, name in names_imported(path):
        if target in faces and not path.is_relative_to(faces[target]):
            exported = importlib.import_module(target).__all__
            assert name in exported, f"{path.relative_to(ROOT)} takes {name} from {target}, which does not export it"


def test_the_cli_exports_main_only() -> None:
    """cli.py is the console script's module: its parser and helpers are how `main` works, not an API."""
    from search import cli

    assert cli.__all__ == ["main"]
    for path in [*CALLERS, *sorted((ROOT / "tests").rglob("*.py"))]:
        for target, name in names_imported(path):
            assert target != "search.cli" or name == "main", f"{path.relative_to(ROOT)} takes {name} from cli.py"


OUTSIDE = [ROOT / "app.py", *sorted((ROOT / "benchmarks").rglob("*.py"))]


@pytest.mark.parametrize("path", OUTSIDE, ids=[str(p.relative_to(ROOT)) for p in OUTSIDE])
def test_top_level_helpers_are_imported_only_inside_the_package(path: Path) -> None:
    """`_environment`, `_files` and the like serve the layers; a program uses the faces (tests may test them)."""
    for target, line in imports_of(path):
        top = target.split(".")[1] if "." in target else ""
        assert not top.startswith("_"), f"{path.relative_to(ROOT)} imports the package's own helper: {line}"
    for target, name in names_imported(path):
        assert target != "search" or not name.startswith("_"), f"{path.relative_to(ROOT)} imports search.{name}"
