"""Building, persisting and updating the index: stable ids, atomic writes, refusing what can't be used."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from search import IndexEditedError, IndexMismatchError, SearchService
from search.collection import index_stories
from search.collection._build import build_index
from search.collection._config import Config
from search.collection._index_build import COPY_CANDIDATES
from search.collection._index_files import MODEL_CHECKS
from search.collection._manifest import read_manifest
from search.corpus import corpus_files
from search.corpus._load import load_corpus
from search.corpus._story import make_story
from search.embedding import default_model, load_embedder
from tests.helpers import SEEDS, FailingAfter

QUESTIONS = ["police training against migrant smuggling", "labour migration", "Guyana oil", "datos personales"]


def results(service: SearchService) -> list[list[tuple[str, float]]]:
    return [[(h.story.id, round(h.score, 5)) for h in service.search(q, k=10).hits] for q in QUESTIONS]


def test_manifest_records_what_loading_checks(seed_index: Path):
    manifest = read_manifest(seed_index)
    assert manifest["story_count"] == 44
    model = load_embedder(default_model(sum(f.stat().st_size for f in corpus_files([SEEDS]))))
    assert manifest["model"] == {"id": model.model_id, "dim": model.dim}
    assert manifest["format_version"] == 2 and manifest["index"]["type"] and manifest["generation"] == 1
    assert len(manifest["corpus_fingerprint"]) == 64 and manifest["built_at"].endswith("Z")
    [base] = manifest["segments"]
    assert base["kind"] == "base" and base["stories"] == 44
    assert {"stories.jsonl", "vectors.npy", "meta.json", "terms.json", "rows.npy"} <= set(base["files"])


def test_persistence_round_trip_gives_identical_results(seed_index: Path, service: SearchService):
    index = index_stories(load_corpus([SEEDS]), service.embedder, Config(model=service.index.model_id))
    in_memory = SearchService(index, service.embedder)
    assert results(in_memory) == results(service)
    assert [s.id for s in index.stories] == [s.id for s in service.index.stories]
    rows = np.arange(len(index))
    np.testing.assert_allclose(index.vectors_at(rows), service.index.vectors_at(rows), atol=1e-6)


def test_unchanged_rebuild_embeds_nothing(index_copy: Path):
    embedder = load_embedder()
    before = embedder.texts_embedded
    index, _ = build_index([SEEDS], index_copy, force=True)
    assert index is not None and len(index) == 44
    assert embedder.texts_embedded == before


def test_add_embeds_only_new_stories_and_persists(index_copy: Path):
    service = SearchService.open(index_copy)
    before = service.embedder.texts_embedded
    new = [make_story("Hurricane relief for migrants in Haiti", "IOM delivered shelter kits after the hurricane.",
                      source="new.txt:1"),
           make_story("Volcano evacuation in Saint Vincent", "Families were moved to shelters by the government.",
                      source="new.txt:3")]
    service.add(new)
    assert service.embedder.texts_embedded - before == 2
    reopened = SearchService.open(index_copy)
    assert len(reopened.index) == 46
    assert reopened.search("hurricane shelter kits Haiti", k=1).hits[0].story.title == new[0].title


def test_adding_a_copy_updates_the_story_instead_of_duplicating(index_copy: Path):
    service = SearchService.open(index_copy)
    original = service.index.stories[0]
    service.add([make_story(original.title, original.body, source="again.txt:1")])
    assert len(service.index) == 44
    assert "again.txt:1" in service.story(original.id).sources


def test_an_edited_copy_updates_the_story_with_its_new_text(index_copy: Path):
    service = SearchService.open(index_copy)
    original = service.index.stories[0]
    ids = service.add([make_story(original.title + " (update)", original.body + " One more sentence.",
                                  source="edit.txt:1")])
    assert ids == [original.id] and len(service.index) == 44
    updated = service.story(original.id)
    assert updated.body.endswith("One more sentence.") and updated.title.endswith("(update)")
    assert original.title in updated.titles and set(original.sources) < set(updated.sources)


def test_an_add_looks_for_copies_among_its_nearest_stories_only(index_copy: Path, monkeypatch: pytest.MonkeyPatch):
    from search.collection import _index_build

    seen: list[int] = []
    real = _index_build.resolve_updates

    def counted(held, *args, **kw):
        seen.append(len(held))
        return real(held, *args, **kw)

    monkeypatch.setattr(_index_build, "resolve_updates", counted)
    service = SearchService.open(index_copy)
    original = service.index.stories[5]
    assert service.add([make_story(original.title, original.body + " Updated.")]) == [original.id]
    assert seen == [COPY_CANDIDATES]  # not all 44: the cost of an add does not grow with the collection


def test_a_story_sharing_only_a_title_is_added_beside_it_and_updates_find_their_own_story(index_copy: Path):
    service = SearchService.open(index_copy)
    coast = make_story("Weekly update", "Coast guards of three island states trained in rescuing migrants at sea.")
    citrus = make_story("Weekly update", "Citrus farm workers in Belize received health checks and work permits.")
    first, second = service.add([coast, citrus])
    assert first != second and len(service.index) == 46
    revised = make_story("Weekly update", "Citrus farm workers in Belize received health checks and work permits "
                                          "this week.")
    assert service.add([revised]) == [second]
    assert len(service.index) == 46
    assert service.story(first).body == coast.body and service.story(second).body == revised.body


def test_a_build_keeps_what_add_and_delete_changed_and_stops_rather_than_drop_it(index_copy: Path, tmp_path: Path):
    service = SearchService.open(index_copy)
    [added] = service.add([make_story("Coast guards trained in sea rescue", "Coast guards of three island states "
                                      "trained in rescuing migrants at sea.", source="api")])
    gone = service.index.stories[3].id
    service.delete([gone])
    index, manifest = build_index([SEEDS], index_copy)  # what `make run` does on every start
    assert index is None and manifest["story_count"] == 44
    index, _ = build_index([SEEDS], index_copy, force=True)  # same corpus: rebuilt as the edits left it
    assert index is not None and added in index and gone not in index and index.edits

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "zz_new.txt").write_text("Hurricane relief in Haiti\nIOM delivered shelter kits after the storm.\n")
    with pytest.raises(IndexEditedError, match=r"1 added or updated, 1 deleted.*build --discard-edits"):
        build_index([corpus], index_copy)
    assert added in SearchService.open(index_copy).index  # nothing written

    index, _ = build_index([SEEDS], index_copy, discard_edits=True)
    assert index is not None and len(index) == 44 and added not in index and gone in index
    assert not SearchService.open(index_copy).index.edits


def test_a_metadata_only_change_is_a_change(index_copy: Path, tmp_path: Path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    [path] = [p for p in corpus.iterdir() if "30 November, 2021" in p.read_text()]
    path.write_text(path.read_text().replace("30 November, 2021", "29 November, 2021"))
    index, _ = build_index([corpus], index_copy)
    assert index is not None and "2021-11-29" in {s.date for s in index.stories}
    service = SearchService.open(index_copy)  # an edit of metadata alone is discarded on request too
    story = service.index.stories[0]
    service.add([story.with_(date="1999-01-01")], own_ids={story.id})
    index, _ = build_index([corpus], index_copy, discard_edits=True)
    assert index is not None and index.story_at(index.row(story.id)).date == story.date


def test_mismatched_model_is_refused_with_how_to_rebuild(seed_index: Path):
    with pytest.raises(IndexMismatchError,
                       match=r"was built with model .* but model 'sentence-transformers/all-MiniLM-L6-v2' "
                                                 r"was asked for; rebuild it with `python -m search build"):
        SearchService.open(seed_index, model="minilm")


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(format_version=99), "has format version 99"),
    (lambda m: m["model"].update(dim=m["model"]["dim"] + 1), "-dimensional vectors"),
])
def test_incompatible_manifest_is_refused(index_copy: Path, change, message):
    path = index_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match=message):
        SearchService.open(index_copy)


def test_failed_build_leaves_previous_index_and_resumes(index_copy: Path, monkeypatch: pytest.MonkeyPatch):
    service = SearchService.open(index_copy)
    expected = results(service)
    manifest = read_manifest(index_copy)
    corpus = index_copy.parent / "corpus"
    shutil.copytree(SEEDS, corpus)
    extra = "".join(f"Extra story number {i} about migrants\nBody of extra story {i} on border work in Panama.\n\n"
                    for i in range(12))
    (corpus / "zz_extra.txt").write_text(extra)
    real = service.embedder
    dying = FailingAfter(real, limit=8)
    monkeypatch.setattr("search.collection._build.load_embedder", lambda name=None: dying)
    monkeypatch.setattr("search.collection._embed_cache.BATCH", 4)
    monkeypatch.setattr("search.collection._embed_cache.FLUSH_SECONDS", 0.0)  # save every batch
    with pytest.raises(RuntimeError, match="killed"):
        build_index([corpus], index_copy)
    assert read_manifest(index_copy) == manifest  # nothing committed
    assert results(SearchService.open(index_copy)) == expected  # previous index intact
    assert not list(index_copy.glob(".tmp-*"))
    # A write through the service meanwhile leaves the build's resume cache alone.
    SearchService.open(index_copy).add([make_story("Coast guards trained", "Coast guards trained in sea rescue.")])

    resumed = FailingAfter(real, limit=100)
    monkeypatch.setattr("search.collection._build.load_embedder", lambda name=None: resumed)
    index, _ = build_index([corpus], index_copy, discard_edits=True)
    assert index is not None and len(index) == 56
    # Each build first re-embeds MODEL_CHECKS kept probes to check the vectors there are this model's; the
    # stories embedded before the crash (the rest of its 8 texts) came from the resume cache; the 12 new
    # titles are asked as questions once, to measure the collection's levels.
    assert resumed.texts_embedded == MODEL_CHECKS + 12 - (8 - MODEL_CHECKS) + 12
    assert not any((index_copy / "cache").rglob("*.npz"))


def test_related_never_returns_the_story_itself(service: SearchService):
    for story in service.index.stories:
        hits = service.related(story.id, k=5)
        assert len(hits) == 5
        assert story.id not in {h.story.id for h in hits}
