"""Corpus readers: plain-text story files (all three seed layouts), JSONL, CSV and BEIR `corpus.jsonl`.

Every reader yields raw `Story` records, one per copy in the file; merging copies is `dedupe`'s job.
Readers never guess per file: the text reader classifies each line (date line, title, body) and one
state machine covers every layout.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _bounded_json
from ..errors import CorpusError
from ._dates import parse_date, parse_date_line, split_lead_dateline
from ._story import Story, id_problem, make_story
from ._text import clean_text

log = logging.getLogger(__name__)

MAX_FIELD_CHARS = 1_000_000  # one story's text; beyond this a file is not a story collection
TEXT_SUFFIXES = {".txt", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
CSV_SUFFIXES = {".csv", ".tsv"}
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
_MD_HEADING = re.compile(r"^#{1,6}(?:\s+(?P<text>.*?))?(?:\s+#+)?\s*$")  # "## Title ##": ATX marks around the text
_JSON_KINDS = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}


@dataclass(frozen=True)
class FieldMap:
    """Which JSONL fields or CSV columns hold each part of a story; the first present name wins."""

    id: tuple[str, ...] = ("id", "_id", "doc_id")
    title: tuple[str, ...] = ("title", "headline")
    body: tuple[str, ...] = ("body", "text", "content")
    date: tuple[str, ...] = ("date", "published", "published_at")
    place: tuple[str, ...] = ("place", "location", "dateline", "places")

    @classmethod
    def parse(cls, spec: str | None) -> FieldMap:
        """From "title=headline,body=article_text" (the CLI's --fields)."""
        if not spec:
            return cls()
        changes: dict[str, tuple[str, ...]] = {}
        for item in spec.split(","):
            key, _, names = item.partition("=")
            if key.strip() not in cls.__dataclass_fields__ or not names:
                raise ValueError(f"bad field mapping {item!r}: use PART=NAME with PART one of id,title,body,date,place")
            changes[key.strip()] = tuple(n.strip() for n in names.split("|"))
        return cls(**{**cls().__dict__, **changes})


def _first(record: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = record.get(name)
        if value not in (None, ""):
            return value
    return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _decode(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise CorpusError(str(path), "looks like a binary file (NUL bytes), not text; pass text, JSONL or CSV files")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        log.warning("%s:%d: not valid UTF-8; undecodable bytes were replaced", path, line)
        return data.decode("utf-8-sig", errors="replace")


def _lines(path: Path, text: str) -> list[str]:
    lines = text.splitlines()
    for no, line in enumerate(lines, 1):
        if len(line) > MAX_FIELD_CHARS:
            raise CorpusError(str(path), f"line of {len(line):,} characters exceeds the {MAX_FIELD_CHARS:,} "
                                         "a story may hold; split the file into stories", no)
    return lines


def _record(path: Path, line: int, title: str, body: str, **meta: Any) -> Story | None:
    if not clean_text(title) and not clean_text(body):  # control characters alone are no text either
        log.warning("%s:%d: story with neither title nor body skipped", path, line)
        return None
    if not clean_text(body):
        log.warning("%s:%d: story %r has no body; indexed by its title only", path, line, title[:60])
    if meta.get("id") and (problem := id_problem(meta["id"])):
        raise CorpusError(str(path), f"story id {meta['id']!r} {problem}", line)
    return make_story(title, body, source=f"{path.name}:{line}", **meta)


def read_text(path: Path) -> Iterator[Story]:
    """Title/body stories in any of the seed layouts; date lines and datelines attach to their story.

    In Markdown a heading is a title whatever its punctuation ("# Why migrate?"), and its '#' marks are markup.
    """
    markdown = path.suffix.lower() == ".md"
    pending: tuple[str | None, str | None] = (None, None)  # a date line seen before its title
    title, line_no = "", 0
    body: list[str] = []
    meta: tuple[str | None, str | None] = (None, None)  # the date and place of the story being read

    def flush() -> Story | None:
        date, place = meta
        text = " ".join(body)
        lead_date, lead_place, text = split_lead_dateline(text)
        return _record(path, line_no, title, text, date=date or lead_date, place=place or lead_place)

    for no, raw in enumerate(_lines(path, _decode(path)), 1):
        line = raw.strip()
        heading = _MD_HEADING.match(line) if markdown else None
        if heading:
            line = heading.group("text") or ""
        if not line:
            continue
        dateline = parse_date_line(line)
        if dateline:
            if (title or body) and not body:
                meta = (dateline[0] or meta[0], dateline[1] or meta[1])
            else:
                if title or body:
                    story = flush()
                    if story:
                        yield story
                    title, body = "", []
                pending = dateline
        elif not heading and (len(line) > 160 or _SENTENCE_END.search(line)):
            if not (title or body):
                line_no, meta, pending = no, pending, (None, None)
            body.append(line)
        else:
            if title or body:
                story = flush()
                if story:
                    yield story
            title, body, line_no, meta, pending = line, [], no, pending, (None, None)
    if title or body:
        story = flush()
        if story:
            yield story


def _text_field(path: Path, line: int, record: dict[str, Any], part: str, names: tuple[str, ...]) -> str:
    """A title or body: text, or missing (null). Anything else would be indexed as "nan" or "[1, 2]": refused."""
    for name in names:
        value = record.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            kind = _JSON_KINDS.get(type(value), type(value).__name__)
            raise CorpusError(str(path), f"{part} field {name!r} is a JSON {kind}, not a string", line)
        return value
    return ""


def _from_record(path: Path, line: int, record: Any, fields: FieldMap) -> Story | None:
    if not isinstance(record, dict):
        raise CorpusError(str(path), f"expected a JSON object per line, got {type(record).__name__}", line)
    title = _text_field(path, line, record, "title", fields.title)
    body = _text_field(path, line, record, "body", fields.body)
    if _first(record, fields.title + fields.body) is None and not any(k in record for k in fields.title + fields.body):
        raise CorpusError(str(path), f"no title or body field (looked for {', '.join(fields.title + fields.body)}; "
                                     f"found {', '.join(map(str, record)) or 'none'}); map them with --fields", line)
    if len(title) + len(body) > MAX_FIELD_CHARS:
        raise CorpusError(str(path), f"story of {len(title) + len(body):,} characters exceeds {MAX_FIELD_CHARS:,}",
                          line)
    raw_id = _first(record, fields.id)
    return _record(path, line, title, body, id=str(raw_id) if raw_id is not None else None,
                   date=parse_date(_as_text(_first(record, fields.date))) or None,
                   place=_as_text(_first(record, fields.place)) or None)


def json_lines(path: Path, lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of JSONL file `path`: stories, questions and qrels are all
    read this way, and a line that is not JSON is one `CorpusError` naming the file, line and column."""
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = _bounded_json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(str(path), f"invalid JSON ({exc.msg} at column {exc.colno})", no) from None
        yield no, value


def read_jsonl(path: Path, fields: FieldMap = FieldMap()) -> Iterator[Story]:
    """One JSON object per line (also a BEIR corpus.jsonl: `_id`, `title`, `text`)."""
    for no, record in json_lines(path, _lines(path, _decode(path))):
        story = _from_record(path, no, record, fields)
        if story:
            yield story


def read_csv(path: Path, fields: FieldMap = FieldMap()) -> Iterator[Story]:
    """A header row naming the columns, then one story per row."""
    fed = 0  # lines handed to the parser: csv's own line_num stops short of a line it fails on

    def numbered(lines: list[str]) -> Iterator[str]:
        nonlocal fed
        for fed, line in enumerate(lines, 1):  # noqa: B007 - the counter is the point
            yield line

    csv.field_size_limit(MAX_FIELD_CHARS + 1)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(numbered(_decode(path).splitlines()), delimiter=delimiter)
    header = reader.fieldnames or []
    if not set(header) & set(fields.title + fields.body):
        raise CorpusError(str(path), f"no title or body column (looked for {', '.join(fields.title + fields.body)}; "
                                     f"header has {', '.join(header) or 'nothing'}); map them with --fields", 1)
    try:
        for row in reader:
            if None in row:
                raise CorpusError(str(path), f"row has {len(header) + len(row[None])} cells, header has {len(header)}",
                                  reader.line_num)
            story = _from_record(path, reader.line_num, row, fields)
            if story:
                yield story
    except csv.Error as exc:
        raise CorpusError(str(path), f"malformed CSV ({exc})", fed) from None


def _walk(folder: Path) -> list[Path]:
    """Story files under `folder`, leaving out hidden files and hidden folders (.git, .venv) without entering them."""
    found: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(f for f in map(Path(root).joinpath, names) if not f.name.startswith(".") and f.is_file()
                     and f.suffix.lower() in TEXT_SUFFIXES | JSONL_SUFFIXES | CSV_SUFFIXES)
    return sorted(found)


def corpus_files(paths: Iterable[str | Path]) -> list[Path]:
    """The story files named by `paths`; a folder holding a BEIR `corpus.jsonl` (or the same in parts,
    `corpus-00.jsonl`, `corpus-01.jsonl` ...) contributes only that corpus, not its questions.

    A path the user names is read even when hidden; only what a folder walk comes across is skipped.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            beir = [p / "corpus.jsonl"] if (p / "corpus.jsonl").is_file() else sorted(p.glob("corpus-[0-9]*.jsonl"))
            if beir:
                files.extend(beir)
                continue
            found = _walk(p)
            if not found:
                raise CorpusError(str(p), "folder holds no .txt, .md, .jsonl or .csv story files")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise CorpusError(str(p), "no such file or folder")
    return files


def read_file(path: Path, fields: FieldMap = FieldMap()) -> Iterator[Story]:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return read_jsonl(path, fields)
    if suffix in CSV_SUFFIXES:
        return read_csv(path, fields)
    return read_text(path)


def read_stories(paths: Iterable[str | Path], fields: FieldMap = FieldMap()) -> list[Story]:
    """Every story copy in the given files and folders, in file order."""
    return [story for part in read_in_parts(paths, fields) for story in part]


def read_in_parts(paths: Iterable[str | Path], fields: FieldMap = FieldMap(),
                  size: int = 1000) -> Iterator[list[Story]]:
    """`read_stories`, handed over `size` copies at a time as they are read: what lets a build embed the first
    stories while it reads the rest."""
    for path in corpus_files(paths):
        part: list[Story] = []
        try:
            for story in read_file(path, fields):
                part.append(story)
                if len(part) >= size:
                    yield part
                    part = []
        except OSError as exc:
            raise CorpusError(str(path), f"cannot read ({exc.strerror})") from None
        if part:
            yield part
