"""A damaged or hand-crafted index is refused with a message that says to rebuild; nothing in it is executed.

Two kinds of damage: accidental (a truncated or flipped file, caught by the manifest's checksums) and
deliberate (files altered and the manifest re-signed to match, which only the loaders' own checks catch:
pickled object arrays, non-float vectors, paths that climb out of the index folder, unknown keys).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from search import IndexCorruptError, SearchService, StorySearchError, build_index
from search.collection import load_index
from tests.helpers import ROOT, SEEDS, answers, assert_clean_error, cli

REBUILD = re.compile(r"rebuild it with `python -m search build --index-dir .+`")


def _live(root: Path) -> Path:
    """The base segment's folder."""
    return root / json.loads((root / "manifest.json").read_text())["segments"][0]["name"]


def _edit_manifest(root: Path, change: Callable[[dict], None]) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest))


def _resign(root: Path) -> None:
    """What an attacker with write access would do: make the checksums match the altered files."""
    def sign(manifest: dict) -> None:
        files = manifest["segments"][0]["files"]
        for name in files:
            data = (_live(root) / name).read_bytes()
            files[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    _edit_manifest(root, sign)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: only the checksum can tell
    path.write_bytes(bytes(data))


class _Exploit:
    """Unpickling this creates a folder: proof that code in the index ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (str(self.marker),)


def _pickled_vectors(root: Path, marker: Path) -> None:
    np.save(_live(root) / "vectors.npy", np.array([_Exploit(marker)] * 3, dtype=object), allow_pickle=True)


def _pickled_postings(root: Path, marker: Path) -> None:
    np.save(_live(root) / "rows.npy", np.array([_Exploit(marker)], dtype=object), allow_pickle=True)


def _float64_vectors(root: Path, marker: Path) -> None:
    vectors = np.load(_live(root) / "vectors.npy")
    np.save(_live(root) / "vectors.npy", vectors.astype(np.float64), allow_pickle=False)


def _garbage_stories(root: Path, marker: Path) -> None:
    (_live(root) / "stories.jsonl").write_text('{"id": "a", "title": "t", "body": "b"}\n[not, json\n')


def _stories_missing_fields(root: Path, marker: Path) -> None:
    (_live(root) / "stories.jsonl").write_text('{"title": "no id"}\n')


def _calibration(root: Path, **change: np.ndarray) -> None:
    """The base's calibration file rewritten with some arrays changed."""
    path = _live(root) / "calibration.npz"
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    np.savez(path, allow_pickle=True, **{**arrays, **change})  # an attacker writes what they like


ACCIDENTS = {
    "truncated-vectors": lambda root: _truncate(_live(root) / "vectors.npy"),
    "truncated-stories": lambda root: _truncate(_live(root) / "stories.jsonl"),
    "flipped-byte-vectors": lambda root: _flip_byte(_live(root) / "vectors.npy"),
    "flipped-byte-stories": lambda root: _flip_byte(_live(root) / "stories.jsonl"),
    "flipped-byte-postings": lambda root: _flip_byte(_live(root) / "terms.json"),
    "missing-file": lambda root: (_live(root) / "vectors.npy").unlink(),
    "flipped-byte-calibration": lambda root: _flip_byte(_live(root) / "calibration.npz"),
    "missing-calibration": lambda root: (_live(root) / "calibration.npz").unlink(),
    "truncated-manifest": lambda root: _truncate(root / "manifest.json"),
    "empty-manifest": lambda root: (root / "manifest.json").write_text(""),
    "manifest-not-an-object": lambda root: (root / "manifest.json").write_text("[1, 2, 3]"),
}


@pytest.mark.parametrize("damage", ACCIDENTS.values(), ids=ACCIDENTS.keys())
def test_damaged_index_is_refused_with_a_rebuild_hint(hashed_copy: Path, damage):
    damage(hashed_copy)
    with pytest.raises(IndexCorruptError, match=REBUILD):
        load_index(hashed_copy)


CRAFTED = {
    "pickled-vectors": _pickled_vectors,
    "pickled-postings-array": _pickled_postings,
    "postings-out-of-range": lambda root, marker: np.save(_live(root) / "rows.npy",
                                                          np.full(np.load(_live(root) / "rows.npy").shape, 10**6,
                                                                  dtype=np.int32)),
    "edits-not-lists": lambda root, marker: (_live(root) / "meta.json").write_text(json.dumps(
        {**json.loads((_live(root) / "meta.json").read_text()), "edits": {"upserted": 5}})),
    "unknown-segment-kind": lambda root, marker: (_live(root) / "meta.json").write_text(json.dumps(
        {**json.loads((_live(root) / "meta.json").read_text()), "kind": "anything"})),
    "float64-vectors": _float64_vectors,
    "stories-not-json": _garbage_stories,
    "stories-missing-fields": _stories_missing_fields,
    "pickled-calibration": lambda root, marker: _calibration(root, best=np.array([_Exploit(marker)], dtype=object)),
    "calibration-queries-of-another-size": lambda root, marker: _calibration(root, queries=np.zeros((3, 384),
                                                                                                  np.float32)),
    "calibration-without-its-questions": lambda root, marker: _calibration(root, kinds=np.zeros(3)),
}


@pytest.mark.parametrize("craft", CRAFTED.values(), ids=CRAFTED.keys())
def test_resigned_crafted_file_is_refused_and_never_executed(hashed_copy: Path, tmp_path: Path, craft):
    marker = tmp_path / "code-ran"
    craft(hashed_copy, marker)
    _resign(hashed_copy)
    with pytest.raises(StorySearchError, match=REBUILD):
        load_index(hashed_copy)
    assert not marker.exists()


def _base(m: dict) -> dict:
    return m["segments"][0]


MANIFESTS = {
    "extra-key": lambda m: m.update(loader="os.system('rm -rf ~')"),
    "segment-name-climbs-out": lambda m: _base(m).update(name="../../etc"),
    "absolute-file-name": lambda m: _base(m)["files"].update({"/etc/passwd": {"bytes": 1, "sha256": "0" * 64}}),
    "file-name-climbs-out": lambda m: _base(m)["files"].update({"../../secret": {"bytes": 1, "sha256": "0" * 64}}),
    "file-entry-with-extra-field": lambda m: _base(m)["files"]["vectors.npy"].update(command="touch /tmp/x"),
    "files-not-a-map": lambda m: _base(m).update(files=["vectors.npy"]),
    "no-files-listed": lambda m: _base(m).update(files={}),
    "a-needed-file-unlisted": lambda m: _base(m)["files"].pop("vectors.npy"),
    "no-segments": lambda m: m.update(segments=[]),
    "first-segment-not-a-base": lambda m: _base(m).update(kind="delta"),
    "story-count-not-a-number": lambda m: m.update(story_count="44"),
    "story-count-wrong": lambda m: m.update(story_count=m["story_count"] + 1),
    "segment-count-wrong": lambda m: _base(m).update(stories=_base(m)["stories"] - 1),
    "generation-negative": lambda m: m.update(generation=-1),
    "config-unknown-setting": lambda m: m["config"].update(chunk_size="x"),
    "config-bad-engine": lambda m: m["config"].update(index_type="annoy"),
    "config-bad-engine-parameter": lambda m: m["config"].update(index_type="faiss-ivf", index_params={"nprobe": 0}),
    "model-dimension-zero": lambda m: m["model"].update(dim=0),
}


@pytest.mark.parametrize("change", MANIFESTS.values(), ids=MANIFESTS.keys())
def test_manifest_that_story_search_did_not_write_is_refused(hashed_copy: Path, change):
    _edit_manifest(hashed_copy, change)
    with pytest.raises(StorySearchError, match=REBUILD):
        load_index(hashed_copy)
    run = cli("query", "smuggling", index=hashed_copy)  # and the command line says so in one line
    assert run.returncode == 1
    assert_clean_error(run.stderr, "error: ", "python -m search build")


def test_untouched_copy_loads_and_answers_like_the_original(hashed_copy: Path, hashed_service: SearchService):
    """The control for the tests above: copying an index (a backup) keeps it valid and identical."""
    copy = SearchService(load_index(hashed_copy), hashed_service.embedder, hashed_copy)
    assert answers(copy) == answers(hashed_service)


def test_cli_on_a_corrupt_index_says_to_rebuild(hashed_copy: Path):
    _flip_byte(_live(hashed_copy) / "vectors.npy")
    run = cli("query", "smuggling", index=hashed_copy)
    assert run.returncode == 1
    assert_clean_error(run.stderr, "error: ", "does not match its checksum", "python -m search build")


def test_a_build_over_a_damaged_index_rebuilds_it(hashed_copy: Path, hashed_service: SearchService):
    _flip_byte(_live(hashed_copy) / "vectors.npy")
    index, _ = build_index([SEEDS], hashed_copy)  # nothing there to reuse, nothing else wrote: it just builds
    assert index is not None and len(index) == 44
    assert answers(SearchService(load_index(hashed_copy), hashed_service.embedder)) == answers(hashed_service)


# --- nothing in index/ is unpickled or executed: the code never asks for it ----------------------------------
FORBIDDEN = {
    "pickle module": re.compile(r"\bimport\s+(c?pickle|dill|joblib|shelve)\b|\bfrom\s+(c?pickle|dill|joblib)\b"),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "eval/exec": re.compile(r"(?<![\w.])(eval|exec)\s*\("),
    "torch.load": re.compile(r"\btorch\.load\s*\("),
    "yaml.load": re.compile(r"\byaml\.(unsafe_)?load\s*\("),
    "marshal": re.compile(r"\bmarshal\.loads?\s*\("),
}


def _source_files() -> list[Path]:
    files = sorted((ROOT / "search").rglob("*.py")) + sorted(ROOT.glob("*.py"))
    assert len(files) > 10, files  # the glob found the package
    return files


@pytest.mark.parametrize("what", FORBIDDEN)
def test_code_never_unpickles_or_evaluates(what: str):
    offenders = [f"{path.relative_to(ROOT)}:{no}: {line.strip()}"
                 for path in _source_files() for no, line in enumerate(path.read_text().splitlines(), 1)
                 if FORBIDDEN[what].search(line)]
    assert not offenders, f"{what} in the code that reads index/:\n" + "\n".join(offenders)


@pytest.mark.parametrize("line, what", [
    ("import pickle", "pickle module"), ("np.load(p, allow_pickle = True)", "allow_pickle=True"),
    ("value = eval(text)", "eval/exec"), ("state = torch.load(path)", "torch.load"),
])
def test_the_scan_itself_catches_each_pattern(line: str, what: str):
    """Guards the guard: a regex that silently matches nothing would make the scan above pass forever."""
    assert FORBIDDEN[what].search(line)
    assert not FORBIDDEN["eval/exec"].search("report = evaluate(service)")
    assert not FORBIDDEN["eval/exec"].search("model.eval()")
