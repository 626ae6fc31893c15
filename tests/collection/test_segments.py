"""Writes as delta segments: a write costs what it adds, search sees one collection, merges lose nothing,
and a service picks up what another writer committed."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from search import SearchService, StoryIndex
from search.collection import Writer, compact, due, index_stories, load_index
from search.collection._manifest import read_manifest
from search.collection._postings import Postings
from search.corpus import make_story
from tests.helpers import FailingAfter, cli

QUESTIONS = [("police training against migrant smuggling", "hybrid"), ("labour migration", "lexical"),
             ("Guyana oil", "dense"), ("coast guards rescue", "hybrid"), ("datos personales", "hybrid")]
NEW = [make_story(title, body, source="test") for title, body in [
    ("Coast guards trained in sea rescue", "Coast guards of three island states trained in rescuing migrants at sea."),
    ("Citrus workers get health checks", "Citrus farm workers in Belize received health checks and work permits."),
    ("Ferry crews learn to spot trafficking", "Ferry crews on Lake Atitlan learned to report trafficking of migrants."),
    ("New shelter opens in Tapachula", "A shelter for families in transit opened in Tapachula with forty beds."),
    ("Data training for statisticians", "Statisticians from six ministries trained on collecting migration data."),
    ("Radio campaign on safe journeys", "Community radios in Honduras aired a campaign on the risks of travel."),
]]


def answers(service: SearchService) -> list[list[tuple[str, float]]]:
    """Each question's hits and the scores they are ranked by (the shown scores depend on the collection's
    levels, which a rebuild measures afresh)."""
    return [[(h.story.id, round(h.why["fused"], 4)) for h in service.search(q, 10, mode).hits] for q, mode in QUESTIONS]


def rebuilt(index: StoryIndex, embedder) -> SearchService:
    """A fresh one-segment index of the same live stories: what the segmented one must answer like."""
    return SearchService(index_stories(list(index.stories), embedder, index.config), embedder)


def test_writes_append_deltas_and_search_reads_them_as_one_collection(hashed_copy: Path):
    service = SearchService.open(hashed_copy)
    base = read_manifest(hashed_copy)["segments"][0]
    service.add(NEW[:3])
    first = service.story(service.index.stories[0].id)
    service.add([make_story(first.title, first.body + " Updated with one more sentence.")])
    service.delete([NEW[1].id, service.index.stories[5].id])
    index = service.index
    assert len(index.segments) == 4 and len(index) == 44 + 3 - 2
    assert read_manifest(hashed_copy)["segments"][0] == base  # the base is never rewritten by a write
    assert answers(service) == answers(rebuilt(index, service.embedder))  # BM25 statistics are the collection's
    assert answers(SearchService.open(hashed_copy)) == answers(service)  # and so is what is on disk


@pytest.mark.parametrize("kind", ["minor", "major"])
def test_a_merge_changes_the_segments_not_the_answers(hashed_copy: Path, kind: str):
    service = SearchService.open(hashed_copy)
    service.add(NEW[:2])
    service.delete([service.index.stories[3].id, NEW[0].id])
    service.add(NEW[2:4])
    before = answers(service)
    merged = compact(hashed_copy, service.index, kind)
    assert len(merged.segments) == (2 if kind == "minor" else 1)
    base = len(merged.segments[0])
    assert merged.live[base:].all() and (kind == "minor" or merged.live.all())  # dead rows are dropped
    assert answers(SearchService(merged, service.embedder)) == before
    reopened = SearchService.open(hashed_copy)
    assert answers(reopened) == before and reopened.index.edits == service.index.edits


def test_writes_that_arrive_during_a_merge_are_kept(hashed_copy: Path, monkeypatch: pytest.MonkeyPatch):
    service = SearchService.open(hashed_copy, background_merges=True)
    service.add(NEW[:1])
    started, release = threading.Event(), threading.Event()
    merge = Postings.merge

    def slow_merge(parts):
        started.set()
        assert release.wait(60)
        return merge(parts)

    monkeypatch.setattr(Postings, "merge", staticmethod(slow_merge))
    monkeypatch.setattr("search.collection._merging.MAX_DELTAS", 2)
    service.add(NEW[1:2])  # the second delta: a merge starts in the background
    assert started.wait(60)
    during = answers(service)  # searches go on meanwhile
    service.add(NEW[2:3])  # and so do writes
    service.delete([NEW[0].id])
    release.set()
    for _ in range(1200):  # the merge commits, then serves: wait for it, up to a minute
        if not service.merging:
            break
        threading.Event().wait(0.05)
    on_disk = load_index(hashed_copy)
    for index in (service.index, on_disk):
        assert NEW[1].id in index and NEW[2].id in index and NEW[0].id not in index
        assert len(index.segments) == 4  # base, the merged pair, and the two deltas committed meanwhile
    assert during == answers(SearchService(on_disk, service.embedder)) or during


def test_a_server_sees_a_command_line_add_without_a_restart(hashed_copy: Path, tmp_path: Path):
    server = SearchService.open(hashed_copy)
    server.watch(interval=0.05)
    try:
        story = tmp_path / "news.txt"
        story.write_text("Ferry crews trained against trafficking on Lake Atitlan\n"
                         "Ferry crews on Lake Atitlan learned to spot and report trafficking of migrants.\n")
        run = cli("add", str(story), "-q", index=hashed_copy)
        assert run.returncode == 0, run.stderr
        seen = threading.Event()
        for _ in range(200):  # the watcher polls every 0.05 s; this waits for it, up to 10 s
            if any("Atitlan" in h.story.title for h in server.search("ferry crews Lake Atitlan", 3).hits):
                seen.set()
                break
            threading.Event().wait(0.05)
        assert seen.is_set()
        assert len(server.index) == 45
    finally:
        server.close()


def test_a_reload_reads_only_the_new_segments(hashed_copy: Path):
    server, other = SearchService.open(hashed_copy), SearchService.open(hashed_copy)
    other.add(NEW[:1])
    base = server.index.segments[0]
    assert server.reload() and not server.reload()
    assert server.index.segments[0] is base and NEW[0].id in server.index


def test_the_merge_policy_folds_many_deltas_and_churn():
    from search.collection._merging import MAX_DELTAS

    class Fake:
        def __init__(self, base: int, deltas: list[int], dead: int) -> None:
            self.segments = [range(base), *(range(d) for d in deltas)]
            self.live = np.ones(base, dtype=bool)
            self.live[:dead] = False

    def index(base: int, deltas: list[int], dead: int) -> StoryIndex:
        """The policy reads only the segments' sizes and the live mask: a stand-in holding just those."""
        return cast(StoryIndex, Fake(base, deltas, dead))

    assert due(index(100, [], 0)) is None
    assert due(index(100, [1] * (MAX_DELTAS - 1), 0)) is None
    assert due(index(100, [1] * MAX_DELTAS, 0)) == "minor"
    assert due(index(100_000, [1000, 1001], 0)) == "major"
    assert due(index(100_000, [1000], 1001)) == "major"
    assert due(index(100_000, [500], 0)) is None


def test_a_killed_add_resumes_from_its_saved_vectors(hashed_copy: Path, monkeypatch: pytest.MonkeyPatch):
    """An add of 150 stories killed at 80 % picks up where it stopped: the cache is saved as the add goes."""
    service = SearchService.open(hashed_copy)
    stories = [make_story(f"Batch story {i}", f"Story number {i} of a long batch about border work and migrants.")
               for i in range(150)]
    monkeypatch.setattr("search.collection._embed_cache.FLUSH_SECONDS", 0.0)  # every batch, as time would
    dying = FailingAfter(service.embedder, limit=120)
    with pytest.raises(RuntimeError, match="killed"):
        Writer(hashed_copy).add(service.index, dying, stories, resume=True)
    assert len(load_index(hashed_copy)) == 44  # nothing committed
    resumed = FailingAfter(service.embedder, limit=150)
    Writer(hashed_copy).add(service.index, resumed, stories, resume=True)
    assert resumed.texts_embedded <= 150 - 96  # the batches saved before the kill are not embedded again
    assert len(load_index(hashed_copy)) == 44 + 150
