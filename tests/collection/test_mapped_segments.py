"""A saved index is opened, not read: its arrays are memory-mapped (shared by every process through the page
cache), its stories are parsed one at a time when asked for, and its checksums are computed once per segment,
not on every start. Segments written before the keys, offsets and columns files existed still open."""
from __future__ import annotations

import json
import mmap
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import search._files
from search import IndexCorruptError, SearchService, build_index
from search.collection import _storage, compact, load_index
from search.collection._story_file import StoryFile
from tests.helpers import SEEDS, answers


def _mapped(array: np.ndarray) -> bool:
    """Whether `array` views a memory-mapped file (numpy keeps the mapping as the last base of its views)."""
    base: Any = array  # views of views, ending at the buffer they map
    while getattr(base, "base", None) is not None:
        base = base.base
    return isinstance(base, mmap.mmap)


def _base(root: Path) -> Path:
    return root / json.loads((root / "manifest.json").read_text())["segments"][0]["name"]


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows of every story parsed from a story file from now on."""
    rows: list[int] = []
    parse = StoryFile._parse

    def counting(self: StoryFile, row: int):
        rows.append(row)
        return parse(self, row)

    monkeypatch.setattr(StoryFile, "_parse", counting)
    return rows


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file checksummed from now on."""
    files: list[Path] = []
    sha256 = search._files.sha256

    def counting(path: Path) -> str:
        files.append(path)
        return sha256(path)

    monkeypatch.setattr(_storage, "sha256", counting)
    monkeypatch.setattr(search._files, "sha256", counting)
    return files


def test_opening_an_index_maps_its_arrays_and_parses_no_story(hashed_copy: Path, parsed: list[int]):
    load_index(hashed_copy)  # a copy is verified when first opened: every story is read once
    parsed.clear()
    index = load_index(hashed_copy)
    base = index.segments[0]
    assert isinstance(base.stories, StoryFile) and not parsed
    for name, array in [("vectors", base.vectors), ("keys", base.keys), ("sorted keys", base.sorted_keys),
                        ("postings rows", base.postings.rows), ("term frequencies", base.postings.tf),
                        ("dates", base.columns.dates)]:
        assert _mapped(array), name
        assert type(array) is np.ndarray, name  # not numpy's memmap, whose every slice runs Python code
    service = SearchService(index, SearchService.open(hashed_copy).embedder)
    hits = service.search("police training against migrant smuggling", 3).hits
    assert len(hits) == 3 and 0 < len(set(parsed)) <= 3 + 100  # the hits and the candidates a ranking reads


def test_an_approximate_engine_is_mapped_and_copied_into_memory_before_it_changes(tmp_path: Path):
    """A mapped engine written in place would crash the process: a merge changes a copy read into memory."""
    root = tmp_path / "index"
    build_index([SEEDS], root, "hashing", engine=("faiss-ivf", {"nlist": 4, "nprobe": 4}))
    service = SearchService.open(root)
    assert service.index.store._mapped is not None  # type: ignore[attr-defined]
    gone = service.search("police training against migrant smuggling", 1).hits[0].story.id
    service.delete([gone])
    merged = compact(root, service.index, "major")  # the base's engine, updated
    assert gone not in merged and service.index.store._mapped is not None  # type: ignore[attr-defined]
    assert answers(SearchService(load_index(root), service.embedder)) == \
        answers(SearchService(merged, service.embedder))


def test_checksums_are_computed_once_per_segment_not_at_every_open(hashed_copy: Path, tmp_path: Path,
                                                                     hashed: list[Path]):
    load_index(hashed_copy)  # a copy: its files are new here, so they are verified, once
    assert hashed
    hashed.clear()
    load_index(hashed_copy)
    assert not hashed
    moved = tmp_path / "moved"
    shutil.copytree(hashed_copy, moved)  # a backup restored elsewhere is verified again
    load_index(moved)
    assert hashed


def test_a_write_records_what_it_wrote_as_verified(hashed_copy: Path, hashed: list[Path]):
    from search.corpus import make_story

    service = SearchService.open(hashed_copy)
    service.add([make_story("Coast guards trained in sea rescue", "Coast guards trained in rescuing migrants.")])
    files_written = len(hashed)  # the commit checksums the files it writes
    load_index(hashed_copy)
    assert len(hashed) == files_written


@pytest.mark.parametrize("name", ["vectors.npy", "stories.jsonl", "rows.npy", "keys.npy"])
def test_a_file_changed_in_place_after_it_was_verified_is_refused(hashed_copy: Path, name: str):
    load_index(hashed_copy)
    path = _base(hashed_copy) / name
    data = bytearray(path.read_bytes())
    data[len(data) - 3] ^= 0x01  # same size, same folder entry: only its change time says it was written
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="does not match its checksum"):
        load_index(hashed_copy)


def test_a_segment_saved_without_keys_offsets_and_columns_opens_the_old_way(hashed_copy: Path,
                                                                             hashed_service: SearchService):
    manifest = json.loads((hashed_copy / "manifest.json").read_text())
    files = manifest["segments"][0]["files"]
    for name in ("keys.npy", "sorted_keys.npy", "key_rows.npy", "story_offsets.npy", "dates.npy",
                 "country_rows.npy", "country_starts.npy", "countries.json"):
        (_base(hashed_copy) / name).unlink()
        del files[name]
    (hashed_copy / "manifest.json").write_text(json.dumps(manifest))
    old = SearchService(load_index(hashed_copy), hashed_service.embedder, hashed_copy)
    assert answers(old) == answers(hashed_service)
    assert old.countries() == hashed_service.countries()


def test_a_story_file_reads_any_story_by_position(hashed_service: SearchService):
    stories = hashed_service.index.segments[0].stories
    everything = list(stories)
    assert len(everything) == len(stories) == len(hashed_service.index)
    assert stories[-1] == everything[-1] and stories[3:6] == everything[3:6]
    with pytest.raises(IndexError):
        stories[len(stories)]


def _advice(path: Path) -> set[str]:
    """The kernel's flags on this process's mapping of `path` (/proc/self/smaps: "rr" is MADV_RANDOM)."""
    lines = Path("/proc/self/smaps").read_text().splitlines()
    mappings = [i for i, line in enumerate(lines) if line.endswith(str(path))]
    assert mappings, f"{path} is not mapped"
    flags = next(line for line in lines[mappings[-1]:] if line.startswith("VmFlags:"))
    return set(flags.split()[1:])


def test_vectors_are_mapped_for_scattered_reads(hashed_copy: Path) -> None:
    """A search rescores a few candidates' rows of a vector file of gigabytes: reading ahead around each would
    load many times what is wanted."""
    index = load_index(hashed_copy)
    folder = hashed_copy / index.segments[0].name
    assert "rr" in _advice((folder / "vectors.npy").resolve())
    assert "rr" not in _advice((folder / "rows.npy").resolve())  # postings are read a term's run at a time
