"""The story readers: every seed layout, the structured formats, and files that are not what they claim."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from search import CorpusError, FieldMap, read_stories
from search.corpus._load import load_corpus
from tests.helpers import SEEDS

PETROLEUM = ("New IOM Study Finds Connection Between Emerging Petroleum Sector and Increased Travel to Guyana "
             "from the Caribbean")


def seed(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.txt"))


def by_title(stories, start: str):
    return next(s for s in stories if s.title.startswith(start))


def test_alternating_lines_with_datelines():
    stories = read_stories([seed("000")])
    assert len(stories) == 10
    petroleum = by_title(stories, "New Study Finds Connection")
    assert (petroleum.date, petroleum.place) == ("2021-09-24", "Georgetown, Guyana")
    caricom = by_title(stories, "IOM and CARICOM IMPACS")
    assert (caricom.date, caricom.place) == ("2021-08-23", "Georgetown, Guyana")
    assert caricom.body.startswith("A Memorandum of Understanding")
    assert by_title(stories, "Costa Rica, Panama").date is None  # no date line: unknown, not guessed


def test_alternating_lines_with_a_body_over_two_lines_and_body_datelines():
    stories = read_stories([seed("001")])
    assert len(stories) == 10
    hubs = by_title(stories, "Information Hubs on Migration in the north")
    assert hubs.body.endswith("focal points who serve the hubs in each country.")
    data = by_title(stories, "Migration data management")
    assert (data.date, data.place) == ("2020-08-13", "Georgetown, Guyana")
    assert data.body.startswith("More research")  # the dateline is metadata, not body text


def test_blank_separated_blocks_with_date_lines():
    stories = read_stories([seed("003")])
    assert len(stories) == 10
    assert [s.date for s in stories[:3]] == ["2021-11-30", "2021-11-25", "2021-11-23"]
    assert all(s.body and s.date for s in stories)


def test_blank_separated_title_and_body_without_dates():
    stories = read_stories([seed("004")])
    assert len(stories) == 9
    assert all(s.title and s.body and s.date is None for s in stories)
    assert stories[0].title.startswith("RCM countries exchange good practices")


def test_all_seed_files_49_copies_44_stories():
    assert len(read_stories([SEEDS])) == 49
    stories = load_corpus([SEEDS])
    assert len(stories) == 44
    petroleum = next(s for s in stories if PETROLEUM in s.titles)
    assert set(petroleum.titles) == {PETROLEUM, PETROLEUM.replace("New IOM Study", "New Study")}
    assert len(petroleum.sources) == 3 and len({src.split(":")[0] for src in petroleum.sources}) == 3
    assert sum(len(s.sources) == 2 for s in stories) == 3
    assert len({s.id for s in stories}) == 44


def test_ids_are_content_derived_and_stable():
    first, second = load_corpus([SEEDS]), load_corpus([SEEDS])
    assert [s.id for s in first] == [s.id for s in second]
    assert all(len(s.id) == 16 for s in first)


def test_crlf_file_reads_like_lf(tmp_path: Path):
    text = seed("004").read_text(encoding="utf-8")
    (tmp_path / "crlf.txt").write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    (tmp_path / "lf.txt").write_text(text, encoding="utf-8")
    crlf, lf = read_stories([tmp_path / "crlf.txt"]), read_stories([tmp_path / "lf.txt"])
    assert [(s.id, s.title, s.body) for s in crlf] == [(s.id, s.title, s.body) for s in lf]


def test_non_utf8_bytes_are_replaced_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = tmp_path / "latin1.txt"
    text = "Migraci\u00f3n en Panam\u00e1\nLa OIM apoy\u00f3 a las autoridades de Panam\u00e1.\n"
    path.write_bytes(text.encode("latin-1"))
    with caplog.at_level(logging.WARNING):
        (story,) = read_stories([path])
    assert story.title.startswith("Migraci") and "apoy" in story.body
    assert "not valid UTF-8" in caplog.text and "latin1.txt:1" in caplog.text


def test_empty_file_gives_no_stories(tmp_path: Path):
    (tmp_path / "empty.txt").write_text("")
    assert read_stories([tmp_path / "empty.txt"]) == []


def test_title_holding_a_date_stays_a_title(tmp_path: Path):
    path = tmp_path / "update.txt"
    path.write_text("Weekly Update May 5, 2021\nThe office reopened this week.\n")
    (story,) = read_stories([path])
    assert (story.title, story.body) == ("Weekly Update May 5, 2021", "The office reopened this week.")
    assert story.place is None


def test_markdown_heading_marks_are_not_title_text(tmp_path: Path):
    path = tmp_path / "notes.md"
    path.write_text("# My title\nIts body sentence.\n\n## Why migrate? ##\nMany reasons.\n")
    stories = read_stories([path])
    assert [(s.title, s.body) for s in stories] == [("My title", "Its body sentence."),
                                                    ("Why migrate?", "Many reasons.")]
    (tmp_path / "plain.txt").write_text("# My title\nIts body sentence.\n")  # only Markdown gives '#' a meaning
    assert read_stories([tmp_path / "plain.txt"])[0].title == "# My title"


def test_story_without_body_is_kept_by_its_title(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = tmp_path / "s.txt"
    path.write_text("A title alone\n\nSecond story title\nIts body sentence.\n")
    with caplog.at_level(logging.WARNING):
        stories = read_stories([path])
    assert [(s.title, s.body) for s in stories] == [("A title alone", ""), ("Second story title", "Its body sentence.")]
    assert "has no body" in caplog.text


def test_binary_file_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(CorpusError, match="image.txt: looks like a binary file"):
        read_stories([path])


def test_jsonl_with_field_mapping_and_dates(tmp_path: Path):
    path = tmp_path / "news.jsonl"
    rows = [{"uid": "a1", "headline": "Floods in Belize", "article": "Heavy rain.", "published": "2023-05-02"},
            {"uid": "a2", "headline": "Drought", "article": "No rain.", "published": "2 May 2023", "place": "Belmopan"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    stories = read_stories([path], FieldMap.parse("id=uid,title=headline,body=article"))
    assert [(s.id, s.title, s.body, s.date) for s in stories] == [
        ("a1", "Floods in Belize", "Heavy rain.", "2023-05-02"), ("a2", "Drought", "No rain.", "2023-05-02")]
    assert stories[1].place == "Belmopan"


def test_jsonl_bad_line_names_file_and_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"title": "ok", "body": "fine."}\n{"title": "broken", \n')
    with pytest.raises(CorpusError, match=r"bad.jsonl:2: invalid JSON"):
        read_stories([path])


@pytest.mark.parametrize("line, kind", [
    ('{"title": "t", "body": NaN}', "number"), ('{"title": 3, "body": "b"}', "number"),
    ('{"title": "t", "text": ["a", "b"]}', "array"), ('{"headline": true, "body": "b"}', "boolean"),
])
def test_jsonl_title_or_body_that_is_not_a_string(tmp_path: Path, line: str, kind: str):
    path = tmp_path / "typed.jsonl"
    path.write_text('{"title": "ok", "body": "fine."}\n' + line + "\n")
    with pytest.raises(CorpusError, match=rf"typed.jsonl:2: (title|body) field '\w+' is a JSON {kind}, not a string"):
        read_stories([path])


def test_jsonl_null_title_or_body_is_missing(tmp_path: Path):
    path = tmp_path / "nulls.jsonl"
    path.write_text('{"title": null, "body": "Body only."}\n{"title": "Title only", "body": null}\n')
    assert [(s.title, s.body) for s in read_stories([path])] == [("", "Body only."), ("Title only", "")]


def test_jsonl_without_title_or_body_fields(tmp_path: Path):
    path = tmp_path / "other.jsonl"
    path.write_text('{"name": "x", "value": 1}\n')
    with pytest.raises(CorpusError, match=r"other.jsonl:1: no title or body field.*found name, value"):
        read_stories([path])


def test_csv_stories_and_missing_columns(tmp_path: Path):
    good = tmp_path / "good.csv"
    good.write_text('title,body,date,place\n"Panama, Darien",Migrants cross the jungle.,2021-03-23,Darien\n')
    (story,) = read_stories([good])
    assert (story.title, story.date, story.place) == ("Panama, Darien", "2021-03-23", "Darien")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,value\nx,1\n")
    with pytest.raises(CorpusError, match=r"bad.csv:1: no title or body column.*header has name, value"):
        read_stories([bad])


def test_tsv_suffix_in_any_case_is_tab_separated(tmp_path: Path):
    path = tmp_path / "U.TSV"
    path.write_text("title\tbody\nFloods, again\tRain, then more rain.\n")
    (story,) = read_stories([path])
    assert (story.title, story.body) == ("Floods, again", "Rain, then more rain.")


def test_folder_walk_skips_hidden_folders_but_not_named_ones(tmp_path: Path):
    (tmp_path / "story.txt").write_text("Visible\nA visible story.\n")
    for hidden in (tmp_path / ".venv" / "lib", tmp_path / "docs" / ".git"):
        hidden.mkdir(parents=True)
        (hidden / "README.md").write_text("Hidden\nA hidden story.\n")
    assert [s.title for s in read_stories([tmp_path])] == ["Visible"]
    assert [s.title for s in read_stories([tmp_path / ".venv"])] == ["Hidden"]  # named by the user: read


def test_beir_folder_reads_only_its_corpus(tmp_path: Path):
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "title": "T", "text": "Body text."}\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "question"}\n')
    (story,) = read_stories([tmp_path])
    assert (story.id, story.title, story.body) == ("d1", "T", "Body text.")


def test_missing_path_is_an_error(tmp_path: Path):
    with pytest.raises(CorpusError, match="no such file or folder"):
        read_stories([tmp_path / "nope"])
