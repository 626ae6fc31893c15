"""Near-duplicate merging: by similarity, not exact text, and without losing any copy's title or source."""
from __future__ import annotations

from search.corpus._dedupe import duplicate_groups, merge_duplicates, resolve_updates
from search.corpus._story import make_story, nth_id

BODY = ("Between 2013-2018 travellers from the Caribbean were recorded as having the highest increase in migration "
        "to Guyana when compared to those from Venezuela, Europe, and the United States of America.")


def test_reworded_copy_is_merged_and_remembers_titles_and_sources():
    a = make_story("New Study Finds Connection", BODY, date="2021-09-24", source="a.txt:3")
    b = make_story("New IOM Study Finds Connection", BODY.replace("2013-2018 travellers", "2013- 2018, nationals"),
                   source="b.txt:7")
    c = make_story("New IOM Study Finds Connection", BODY.replace("2013-2018 travellers", "2013- 2018, nationals"),
                   source="c.txt:9")
    (merged,) = merge_duplicates([a, b, c])
    assert merged.title == "New IOM Study Finds Connection"  # the title most copies carry
    assert merged.titles == ("New IOM Study Finds Connection", "New Study Finds Connection")
    assert merged.sources == ("a.txt:3", "b.txt:7", "c.txt:9")
    assert merged.date == "2021-09-24"  # kept from the copy that stated it


def test_different_stories_on_one_topic_stay_apart():
    a = make_story("Panama trains border police", "Panama trained 150 police officers in border security and "
                   "human rights at a ceremony in the Darien province this week.")
    b = make_story("Costa Rica trains border police", "Costa Rica held a workshop on migrant smuggling for "
                   "prosecutors and judges from three countries in San Jose.")
    assert duplicate_groups([a, b]) == [[0], [1]]


def test_same_explicit_id_means_same_story(caplog):
    a = make_story("Old title", "Completely different text one.", id="x1", source="a.jsonl:1")
    b = make_story("New title", "Rewritten from scratch entirely.", id="x1", source="a.jsonl:7")
    assert duplicate_groups([a, b]) == [[0, 1]]
    assert "a.jsonl:1 and a.jsonl:7 share the id 'x1' but not their text" in caplog.text


def test_different_stories_under_one_title_stay_two_with_stable_ids():
    a = make_story("Weekly update", "Coast guards of three island states trained in rescuing migrants at sea.")
    b = make_story("Weekly update", "Citrus farm workers in Belize signed seasonal contracts with new protections.")
    first = merge_duplicates([a, b])
    assert [s.body for s in first] == [a.body, b.body]
    assert first[0].id == a.id and first[1].id != a.id
    again = merge_duplicates([a, b.with_(body=b.body + " More to follow.")])  # an edited body keeps its id
    assert [s.id for s in again] == [s.id for s in first]


HELD = merge_duplicates([make_story("New Study Finds Connection", BODY, source="seed.txt:1"),
                         make_story("Weekly update", "Coast guards of three island states trained in sea rescue.")])


def test_a_copy_updates_the_held_story_with_its_new_text_and_keeps_its_title_when_it_has_none():
    edited = make_story("", BODY + " IOM will follow up next year.", source="api")
    filed, ids = resolve_updates(HELD, [edited])
    assert ids == [HELD[0].id] and filed[0].body.endswith("next year.")
    assert filed[0].title == HELD[0].title and filed[0].sources == ("api", "seed.txt:1")


def test_an_id_the_caller_gives_updates_that_story_even_with_a_new_text():
    rewritten = make_story(HELD[1].title, "Fishermen were trained as first responders.", id=HELD[1].id)
    assert resolve_updates(HELD, [rewritten])[1] == [nth_id(HELD[1].id, 2)]  # same title only: a new story
    filed, ids = resolve_updates(HELD, [rewritten], own_ids={HELD[1].id})
    assert ids == [HELD[1].id] and filed[0].body.startswith("Fishermen")


def test_copies_in_one_batch_are_one_story_under_the_id_one_of_them_gives_in_any_order():
    plain = make_story("Hurricane relief in Haiti", "IOM delivered shelter kits to families after the storm.")
    named = make_story(plain.title, plain.body, id="ext-42")
    for batch in ([plain, named], [named, plain]):
        filed, ids = resolve_updates(HELD, batch)
        assert ids == ["ext-42", "ext-42"] and [s.id for s in filed] == ["ext-42"]
