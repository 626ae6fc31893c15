"""An index folder is data, not configuration of the program: whatever its manifest says, it cannot make the
program connect somewhere, create files outside it, read files outside it, or use another model's vectors as
its own. Each refusal is one `error:` line from the command line.

A changed manifest is easy to make (anyone who can write the folder, or who hands one over); each test
plants one and checks what the program then does.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from search import ConfigError, IndexCorruptError, IndexMismatchError, SearchService, build_index
from search._bounded_json import MAX_DEPTH
from search.collection import load_index
from search.collection._engine_address import MILVUS_URI_ENV, engine_params
from search.collection._index_files import model_agreement
from search.collection._manifest import MAX_MANIFEST_BYTES
from search.embedding import canonical_model_id, load_embedder
from tests.helpers import SEEDS, assert_clean_error, audit_events, audited_env, cli


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def _edit(root: Path, change: Callable[[dict], None]) -> None:
    manifest = _manifest(root)
    change(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest))


def _query(root: Path, log: Path | None = None) -> tuple[int, str]:
    """`python -m search query` on `root`, its calls out recorded in `log`: (exit code, stderr)."""
    import subprocess
    import sys

    env = audited_env(log or root.parent / "audit.jsonl", STORY_SEARCH_INDEX=str(root), **{MILVUS_URI_ENV: ""})
    run = subprocess.run([sys.executable, "-m", "search", "query", "smuggling"], env=env, capture_output=True,
                         text=True, timeout=300)
    return run.returncode, run.stderr


def _one_error_line(stderr: str, *needles: str) -> None:
    assert_clean_error(stderr, *needles)
    assert [line for line in stderr.splitlines() if line.startswith("error: ")], stderr
    assert len([line for line in stderr.splitlines() if line.startswith("error: ")]) == 1, stderr


# --- an engine address the user never gave ---------------------------------------------------------------
def _milvus(uri: str) -> Callable[[dict], None]:
    def point(manifest: dict) -> None:
        manifest["index"] = {"type": "milvus", "params": {"uri": uri, "collection": "planted"}}
    return point


def test_a_manifest_naming_a_milvus_file_elsewhere_creates_nothing_there(hashed_copy: Path, tmp_path: Path):
    planted = tmp_path / "elsewhere" / "planted.db"
    planted.parent.mkdir()
    _edit(hashed_copy, _milvus(str(planted)))
    code, stderr = _query(hashed_copy)
    assert code == 1
    _one_error_line(stderr, "names Milvus at", MILVUS_URI_ENV)
    assert list(planted.parent.iterdir()) == []


def test_a_manifest_naming_a_milvus_server_connects_to_nothing(hashed_copy: Path, tmp_path: Path):
    log = tmp_path / "audit.jsonl"
    _edit(hashed_copy, _milvus("http://milvus.attacker.example:19530"))
    code, stderr = _query(hashed_copy, log)
    assert code == 1
    _one_error_line(stderr, "milvus.attacker.example", MILVUS_URI_ENV)
    assert audit_events(log, "lookup") == [] and audit_events(log, "connect") == []


def test_the_configuration_in_a_manifest_is_checked_too(hashed_copy: Path):
    """The saved configuration is what merges and rebuilds make engines from."""
    def point(manifest: dict) -> None:
        manifest["config"].update(index_type="auto", index_params={
            "threshold": 0, "approximate": "milvus", "approximate_params": {"uri": "tcp://10.1.2.3:19530"}})
    _edit(hashed_copy, point)
    with pytest.raises(ConfigError, match=MILVUS_URI_ENV):
        load_index(hashed_copy)
    with pytest.raises(ConfigError, match="10.1.2.3"):  # a rebuild would have used it: the user gave no address
        build_index([SEEDS], hashed_copy)


def test_where_milvus_may_be(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "index"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    monkeypatch.delenv(MILVUS_URI_ENV, raising=False)
    assert engine_params(root, "milvus", {"uri": "milvus.db"})["uri"] == str(root / "milvus.db")
    assert engine_params(root, "milvus", {})["uri"] == str(root / "milvus.db")  # the default is a file name
    assert engine_params(root, "faiss-ivf", {"nprobe": 8}) == {"nprobe": 8}
    server = {"uri": "http://milvus.internal:19530"}
    assert engine_params(root, "milvus", server, configured=server["uri"]) == server  # this build's own address
    for refused in ("http://milvus.internal:19530", str(tmp_path / "outside" / "m.db"), "link/m.db", "../m.db",
                    "unix:/run/milvus.sock"):
        with pytest.raises(ConfigError):
            engine_params(root, "milvus", {"uri": refused})
    monkeypatch.setenv(MILVUS_URI_ENV, server["uri"])
    assert engine_params(root, "milvus", server) == server


# --- another model's vectors --------------------------------------------------------------------------------
def _swap_model(model: str) -> Callable[[dict], None]:
    def swap(manifest: dict) -> None:
        manifest["model"]["id"] = model
    return swap


def test_a_swapped_model_id_is_refused_at_open_and_by_add(index_copy: Path, tmp_path: Path):
    """The seeds indexed with e5 and mpnet, the manifest saying the hashing model and mpnet made them (the same
    widths): the first model's part gives it away."""
    _edit(index_copy, _swap_model(canonical_model_id("hashing+mpnet")))
    with pytest.raises(IndexMismatchError, match="does not make"):
        SearchService.open(index_copy)
    generation = _manifest(index_copy)["generation"]
    story = tmp_path / "story.txt"
    story.write_text("Coast guards trained in sea rescue\n\nCoast guards of three island states trained in rescuing "
                     "migrants at sea.\n", encoding="utf-8")
    run = cli("add", str(story), index=index_copy)
    assert run.returncode == 1
    _one_error_line(run.stderr, "hashing", "python -m search build")
    assert _manifest(index_copy)["generation"] == generation  # nothing was filed


def test_a_rebuild_does_not_reuse_vectors_another_model_made(index_copy: Path):
    hashing = load_embedder("hashing")

    def swap(manifest: dict) -> None:
        manifest["model"]["id"] = manifest["config"]["model"] = hashing.model_id
    _edit(index_copy, swap)
    build_index([SEEDS], index_copy, force=True)
    assert model_agreement(load_index(index_copy), hashing) > 0.99


# --- a manifest too deep or too big; nested JSON anywhere in the folder ------------------------------------
def test_a_deeply_nested_manifest_is_one_error_line(hashed_copy: Path):
    (hashed_copy / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    code, stderr = _query(hashed_copy)
    assert code == 1
    _one_error_line(stderr, f"nested deeper than {MAX_DEPTH} levels", "python -m search build")


def test_a_huge_manifest_is_refused_before_it_is_parsed(hashed_copy: Path):
    with (hashed_copy / "manifest.json").open("w") as f:
        f.write("[" + " " * MAX_MANIFEST_BYTES + "]")
    with pytest.raises(IndexCorruptError, match="bytes"):
        load_index(hashed_copy)


def _resign(root: Path) -> None:
    def sign(manifest: dict) -> None:
        for segment in manifest["segments"]:
            for name in segment["files"]:
                data = (root / segment["name"] / name).read_bytes()
                segment["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    _edit(root, sign)


def test_a_deeply_nested_story_line_is_refused(hashed_copy: Path):
    stories = hashed_copy / _manifest(hashed_copy)["segments"][0]["name"] / "stories.jsonl"
    lines = stories.read_bytes().splitlines(keepends=True)
    depth = (len(lines[0]) - 1) // 2  # the first story's line, as deep as its length allows: its offsets stay true
    lines[0] = b"[" * depth + b"]" * depth + b" " * (len(lines[0]) - 1 - 2 * depth) + b"\n"
    stories.write_bytes(b"".join(lines))
    _resign(hashed_copy)
    with pytest.raises(IndexCorruptError, match="nested deeper"):
        load_index(hashed_copy)


@pytest.mark.parametrize("name, text", [("corpus.jsonl", "[" * 100_000),
                                        ("questions.jsonl", "{\"q\": " + "[" * 100_000)])
def test_deeply_nested_lines_in_a_corpus_or_question_file_are_one_error_line(hashed_copy: Path, tmp_path: Path,
                                                                             name: str, text: str):
    path = tmp_path / name
    path.write_text(text + "\n")
    run = cli("build", "--corpus", str(path), "--index-dir", str(tmp_path / "new")) if name == "corpus.jsonl" \
        else cli("eval", str(path), index=hashed_copy)
    assert run.returncode == 1
    _one_error_line(run.stderr, "nested deeper", f"{name}:1")


# --- links inside a segment ---------------------------------------------------------------------------------
def test_a_linked_sub_folder_named_by_the_manifest_is_not_read(hashed_copy: Path, tmp_path: Path):
    """`sub -> elsewhere` in a segment and `sub/secret` in its manifest entry, with the right size and checksum:
    the loader would read (checksum) a file outside the index."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret").write_text("not the index's\n")
    segment = _manifest(hashed_copy)["segments"][0]["name"]
    (hashed_copy / segment / "sub").symlink_to(elsewhere)
    data = (elsewhere / "secret").read_bytes()
    _edit(hashed_copy, lambda m: m["segments"][0]["files"].update(
        {"sub/secret": {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}}))
    code, stderr = _query(hashed_copy)
    assert code == 1
    _one_error_line(stderr, "sub", "symbolic link")


def test_an_unlisted_engine_file_linked_elsewhere_is_not_read(hashed_copy: Path, tmp_path: Path):
    """An IVF index reads `ivf.faiss` when it is there; planted as a link, it would be read from anywhere."""
    segment = _manifest(hashed_copy)["segments"][0]["name"]
    (hashed_copy / segment / "ivf.faiss").symlink_to(os.devnull)
    with pytest.raises(IndexCorruptError, match="symbolic link"):
        load_index(hashed_copy)
