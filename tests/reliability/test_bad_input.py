"""Bad input through the Python API, the command line and corpus files: a clear, actionable error or a
real answer, never a traceback, a crash or silent garbage.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from search import CorpusError, Filters, InvalidQueryError, SearchService, UnknownStoryError, build_index, read_stories
from search.corpus._readers import MAX_FIELD_CHARS
from search.serving.api._schemas import SearchOut
from tests.helpers import answers, assert_clean_error, cli

TEN_MB = 10 * 1024 * 1024


# --- questions -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("question, message", [
    ("", "empty"),
    ("   \t\n  ", "empty"),
    ("x" * 1_000_000, "limit is"),
    ("\x00", "empty"),
    ("\x00\x07\x1b\x7f", "empty"),
    ("\ud800", "empty"),  # a lone surrogate, as JSON's "\ud800" escape delivers it
    (None, "must be text"),
    (b"bytes smuggling", "must be text"),
], ids=["empty", "whitespace", "1MB", "NUL", "control-only", "lone-surrogate", "None", "bytes"])
def test_bad_question_is_refused_with_a_reason(hashed_service: SearchService, question, message: str):
    with pytest.raises(InvalidQueryError, match=message):
        hashed_service.search(question)


@pytest.mark.parametrize("question", [
    "🚀🌍 migrant smuggling 🛂",
    "تهريب المهاجرين في بنما",  # Arabic, right to left
    "הברחת מהגרים בקוסטה ריקה",  # Hebrew, right to left
    "police\x00training\x07 against smuggling",  # control characters inside real words
    "smuggling \u202epolice\u202c Panama",  # a right-to-left override mark
    "\ud800 migrant smuggling",  # a lone surrogate beside real words
], ids=["emoji", "arabic", "hebrew", "embedded-control", "rtl-override", "surrogate-and-words"])
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_unusual_but_valid_question_is_answered(hashed_service: SearchService, question: str, mode: str):
    result = hashed_service.search(question, 3, mode)
    assert result.query.strip() and "\x00" not in result.query
    if mode != "lexical":  # lexical may find no shared word; dense always ranks the nearest stories
        assert len(result.hits) == 3
    # The answer serialises: no surrogate or NaN reaches a client.
    json.dumps(SearchOut.of(result).model_dump(mode="json"), allow_nan=False)


@pytest.mark.parametrize("k", [0, -1, 10**9, "abc", 2.5, None, True, "5"])
def test_bad_k_is_refused(hashed_service: SearchService, k):
    with pytest.raises(InvalidQueryError, match="k must be a whole number from 1 to"):
        hashed_service.search("migrant smuggling", k)
    with pytest.raises(InvalidQueryError, match="k must be"):
        hashed_service.related(hashed_service.index.stories[0].id, k)


@pytest.mark.parametrize("mode", ["semantic", "", None, "HYBRID"])
def test_bad_mode_is_refused(hashed_service: SearchService, mode):
    with pytest.raises(InvalidQueryError, match="mode must be one of"):
        hashed_service.search("migrant smuggling", 3, mode)


@pytest.mark.parametrize("filters", [
    dict(date_from="2020-13-45"), dict(date_to="yesterday"), dict(date_from="2024-02-01", date_to="2023-01-01"),
], ids=["impossible-date", "word", "reversed-range"])
def test_bad_date_filter_is_refused(filters: dict):
    with pytest.raises(InvalidQueryError, match="date"):
        Filters(**filters)


@pytest.mark.parametrize("story_id", ["nope", "", "../../etc/passwd", "\x00", "x" * 1_000_000, None, 42],
                         ids=["unknown", "empty", "path", "NUL", "1MB", "None", "int"])
@pytest.mark.parametrize("call", ["story", "related"])
def test_unknown_story_id_is_a_short_clear_error(hashed_service: SearchService, story_id, call: str):
    with pytest.raises(UnknownStoryError) as caught:
        getattr(hashed_service, call)(story_id)
    assert "no story with id" in str(caught.value) and len(str(caught.value)) < 200  # never echoes 1 MB back


def test_deleting_an_unknown_story_changes_nothing(hashed_copy: Path, hashed_service: SearchService):
    writable = SearchService.open(hashed_copy)
    before, manifest = answers(writable), (hashed_copy / "manifest.json").read_bytes()
    with pytest.raises(UnknownStoryError):
        writable.delete([writable.index.stories[0].id, "no-such-story"])
    assert answers(writable) == before and (hashed_copy / "manifest.json").read_bytes() == manifest


# --- corpus files --------------------------------------------------------------------------------------------
STORY = "Floods close the river port\nHeavy rain closed the port of Santos for three days, officials said.\n"
JSONL_STORY = json.dumps({"title": "Floods close the river port", "body": "Heavy rain closed the port."})


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize("name, data, message, line", [
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary", None),
    ("blob.jsonl", b"\x00\x01\x02" * 100, "binary", None),
    ("long.txt", "x" * TEN_MB, "exceeds", 1),
    ("long.jsonl", JSONL_STORY + "\n" + json.dumps({"title": "t", "body": "y" * TEN_MB}), "exceeds", 2),
    ("long.csv", "title,body\nt,u\nt," + "y" * TEN_MB + "\n", "field larger than field limit", 3),
    ("cols.csv", "name,age\nAda,36\n", "no title or body column", 1),
    ("empty.csv", "", "no title or body column", 1),
    ("extra.csv", "title,body\nA,B\nC,D,E\n", "row has 3 cells", 3),
    ("bad.jsonl", JSONL_STORY + "\n" + JSONL_STORY + "\n{\"title\": \"cut off\n", "invalid JSON", 3),
    ("array.jsonl", JSONL_STORY + "\n[1, 2]\n", "expected a JSON object", 2),
    ("fields.jsonl", '{"headline_x": "a", "content_x": "b"}\n', "no title or body field", 1),
], ids=["binary-text", "binary-jsonl", "10MB-line-text", "10MB-line-jsonl", "10MB-field-csv", "csv-missing-columns",
        "csv-empty", "csv-extra-cells", "jsonl-bad-line", "jsonl-array-line", "jsonl-missing-fields"])
def test_bad_corpus_file_names_file_and_line(tmp_path: Path, name: str, data, message: str, line: int | None):
    path = _write(tmp_path, name, data)
    with pytest.raises(CorpusError, match=message) as caught:
        read_stories([path])
    assert caught.value.path == str(path) and caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}" if line else str(path))


@pytest.mark.parametrize("name", ["empty.txt", "empty.jsonl", "blank.txt"])
def test_corpus_of_only_empty_files_is_refused(tmp_path: Path, name: str):
    path = _write(tmp_path, name, "" if name.startswith("empty") else "\n \n\t\n")
    assert read_stories([path]) == []
    with pytest.raises(CorpusError, match="holds no stories"):
        build_index([path], tmp_path / "index")


@pytest.mark.parametrize("paths, message", [
    (["missing.txt"], "no such file or folder"), (["folder"], "holds no .txt"),
], ids=["missing-file", "folder-without-stories"])
def test_missing_corpus_is_refused(tmp_path: Path, paths: list[str], message: str):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.pdf").write_bytes(b"%PDF")
    with pytest.raises(CorpusError, match=message):
        read_stories([tmp_path / p for p in paths])


def test_non_utf8_file_is_read_with_a_warning_naming_file_and_line(tmp_path: Path, caplog):
    path = _write(tmp_path, "latin1.txt", STORY.replace("Santos", "S\xe3o Paulo").encode("latin-1"))
    with caplog.at_level(logging.WARNING):
        stories = read_stories([path])
    assert f"{path}:2: not valid UTF-8" in caplog.text
    assert len(stories) == 1 and "Paulo" in stories[0].body and "\ufffd" not in stories[0].body


@pytest.mark.parametrize("name, text", [
    ("story.txt", STORY * 1), ("story.jsonl", JSONL_STORY + "\n" + JSONL_STORY.replace("river", "sea") + "\n"),
    ("story.csv", "title,body\nFloods close the river port,Heavy rain closed the port.\n"),
])
def test_crlf_file_reads_exactly_like_lf(tmp_path: Path, name: str, text: str):
    for folder in ("lf", "crlf"):
        (tmp_path / folder).mkdir()
    lf = _write(tmp_path / "lf", name, text)
    crlf = _write(tmp_path / "crlf", name, text.replace("\n", "\r\n"))
    assert read_stories([crlf]) == read_stories([lf]) != []


def test_a_line_just_under_the_limit_is_still_a_story(tmp_path: Path):
    path = _write(tmp_path, "big.jsonl", json.dumps({"title": "Big", "body": "y " * ((MAX_FIELD_CHARS - 100) // 2)}))
    assert len(read_stories([path])) == 1


# --- the command line ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, data, needle", [
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt: looks like a binary file"),
    ("bad.jsonl", JSONL_STORY + "\nnot json\n", "bad.jsonl:2: invalid JSON"),
    ("long.txt", "x" * TEN_MB, "long.txt:1: line of"),
    ("empty.txt", "", "holds no stories"),
])
def test_cli_build_on_a_bad_file_prints_file_and_line(tmp_path: Path, name: str, data, needle: str):
    path = _write(tmp_path, name, data)
    run = cli("build", "--corpus", str(path), "--index-dir", str(tmp_path / "index"), "-q")
    assert run.returncode == 1 and run.stdout == ""
    assert_clean_error(run.stderr, "error: ", needle)
    assert not (tmp_path / "index" / "manifest.json").exists()


@pytest.mark.parametrize("args, code, needle", [
    (["query", ""], 1, "the question is empty"),
    (["query", "smuggling", "-k", "0"], 1, "k must be a whole number"),
    (["query", "smuggling", "-k", "abc"], 2, "invalid int value: 'abc'"),
    (["query", "smuggling", "--mode", "fuzzy"], 2, "invalid choice: 'fuzzy'"),
    (["query", "smuggling", "--date-from", "2020-13-01"], 1, "date_from must be a date"),
    (["similar", "no-such-story"], 1, "no story with id 'no-such-story'"),
    (["add", "/no/such/file.txt"], 1, "/no/such/file.txt: no such file or folder"),
    (["build", "--corpus", "seeds", "--fields", "garbage"], 2, "bad field mapping 'garbage'"),
], ids=["empty-question", "k-0", "k-abc", "bad-mode", "bad-date", "unknown-id", "add-missing-file", "bad-fields"])
def test_cli_bad_arguments_exit_non_zero_with_one_clear_line(hashed_index: Path, args: list[str], code: int,
                                                              needle: str):
    run = cli(*args, "-q", index=hashed_index)
    assert run.returncode == code and run.stdout == ""
    assert_clean_error(run.stderr, needle)


def test_cli_without_an_index_says_how_to_build_one(tmp_path: Path):
    run = cli("query", "smuggling", "--index-dir", str(tmp_path / "nothing"))
    assert run.returncode == 1
    assert_clean_error(run.stderr, "no index at", "python -m search build")
