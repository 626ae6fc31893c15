"""Searches running while the collection changes see the old index or the new one, never a mix, never an error.

Reader threads search the probes in a loop against one `SearchService` while the main thread adds a story
and then deletes it. Each answer must equal, probe by probe, the answer of one of the indexes that was live
at some moment: a search that mixed two indexes (the stories of one, the vectors or rows of the other)
would give ids or scores that match neither.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from search import SearchService
from search.collection import load_index
from search.corpus._story import make_story
from tests.helpers import PROBES

READERS = 8
# Relevant to every probe, so adding it changes each probe's answer.
NEWS = make_story("Police academy trains Costa Rica and Panama officers against migrant smuggling",
                  "Officers from Costa Rica and Panama trained together against migrant smuggling networks; the "
                  "course also covered travel linked to the petroleum sector.", source="test")

Answer = tuple[tuple[str, float], ...]


def _answer(service: SearchService, probe: tuple[str, str]) -> Answer:
    question, mode = probe
    return tuple((h.story.id, round(h.score, 5)) for h in service.search(question, 5, mode).hits)


def _state(service: SearchService) -> dict[tuple[str, str], Answer]:
    return {probe: _answer(service, probe) for probe in PROBES}


def test_searches_during_add_and_delete_see_one_whole_index(hashed_copy: Path):
    service = SearchService.open(hashed_copy)
    states = [_state(service)]
    seen: list[tuple[tuple[str, str], Answer]] = []
    errors: list[str] = []
    stop = threading.Event()

    def reader(offset: int) -> None:
        n = offset
        while not stop.is_set():
            probe = PROBES[n % len(PROBES)]
            n += 1
            try:
                seen.append((probe, _answer(service, probe)))
            except Exception as exc:
                errors.append(repr(exc))
                return

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        service.add([NEWS])
        states.append(_state(service))
        time.sleep(0.3)
        service.delete([NEWS.id])
        states.append(_state(service))
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors[:3]
    assert all(states[0][p] != states[1][p] for p in PROBES), "the add must change every probe's answer"
    mixed = [(probe, answer) for probe, answer in seen if answer not in {state[probe] for state in states}]
    assert not mixed, mixed[:3]
    phases = {i for probe, answer in seen for i, state in enumerate(states) if state[probe] == answer}
    assert {0, 1} <= phases, "readers must have run both before and after the add"
    assert len(seen) > 10 * READERS


def test_write_over_an_index_changed_by_another_writer_keeps_both_writes(hashed_copy: Path):
    """A server holds its loaded index; an `add` from the command line meanwhile is not overwritten by the
    server's next write, which files its story against the index as the other writer left it."""
    server, command_line = SearchService.open(hashed_copy), SearchService.open(hashed_copy)
    command_line.add([NEWS])
    [other] = server.add([make_story("Another story", "About something else entirely.", source="test")])
    on_disk = load_index(hashed_copy)
    assert NEWS.id in on_disk and other in on_disk
    assert NEWS.id in server.index and other in server.index
