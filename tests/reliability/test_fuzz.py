"""Generated input: hypothesis fuzzes the story readers and the query path, schemathesis the HTTP API from
its own OpenAPI spec. Examples are bounded so the suite stays quick; the property is always the same:
an answer or a clear, typed refusal, never another exception and never a 5xx.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from search import CorpusError, InvalidQueryError, SearchService, read_stories
from search.corpus._text import clean_text
from search.serving.api._routes import create_api
from search.serving.api._schemas import SearchOut

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def _read(name: str, data: bytes) -> list:
    """Read one generated file; a CorpusError (a clear refusal naming the file) is an accepted outcome."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            stories = read_stories([path])
        except CorpusError as exc:
            assert str(exc).startswith(str(path))
            return []
    for story in stories:
        assert story.title or story.body
        assert story.title == clean_text(story.title) and story.body == clean_text(story.body)
        json.dumps(story.to_dict()).encode("utf-8")  # storable: no lone surrogate survives
    return stories


@FUZZ
@given(name=st.sampled_from(["f.txt", "f.md", "f.jsonl", "f.csv", "f.tsv"]), data=st.binary(max_size=2000))
def test_readers_survive_arbitrary_bytes(name: str, data: bytes):
    _read(name, data)


_TEXT = st.text(st.characters(codec=None), max_size=200)  # any code point, surrogates and controls included


@FUZZ
@given(lines=st.lists(_TEXT, max_size=20), crlf=st.booleans())
def test_text_reader_survives_arbitrary_lines(lines: list[str], crlf: bool):
    text = ("\r\n" if crlf else "\n").join(lines)
    _read("f.txt", text.encode("utf-8", "surrogatepass"))


_VALUE = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _TEXT,
                   st.lists(_TEXT, max_size=3))
_RECORD = st.dictionaries(st.sampled_from(["id", "_id", "title", "headline", "body", "text", "date", "place",
                                           "other"]), _VALUE, max_size=6)


@FUZZ
@given(records=st.lists(st.one_of(_RECORD, _VALUE), max_size=10))
def test_jsonl_reader_survives_arbitrary_records(records: list):
    _read("f.jsonl", "\n".join(json.dumps(r) for r in records).encode("utf-8"))


@FUZZ
@given(rows=st.lists(st.lists(_TEXT, max_size=4), max_size=8),
       header=st.lists(st.sampled_from(["title", "body", "date", "id", "x"]), max_size=4))
def test_csv_reader_survives_arbitrary_rows(rows: list[list[str]], header: list[str]):
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    _read("f.csv", out.getvalue().encode("utf-8", "surrogatepass"))


@settings(FUZZ, max_examples=30)  # each answered question costs a model call
@given(question=st.one_of(_TEXT, st.text(max_size=2100)), k=st.integers(-5, 200),
       mode=st.sampled_from(["hybrid", "dense", "lexical", "other"]))
def test_query_path_answers_or_refuses(hashed_service: SearchService, question: str, k: int, mode: str):
    try:
        result = hashed_service.search(question, k, mode)
    except InvalidQueryError as exc:
        assert str(exc)
        return
    assert 1 <= k <= 100 and mode != "other" and result.query == clean_text(question)
    assert len(result.hits) <= k
    json.dumps(SearchOut.of(result).model_dump(mode="json"), allow_nan=False).encode("utf-8")


# --- schemathesis: the API against its own OpenAPI spec ---------------------------------------------------------
# (Driven by hand rather than by schemathesis' pytest plugin, whose fixture loader does not run on pytest 9.)
@schemathesis.check
def error_format(ctx, response, case) -> None:
    """Every 4xx and 5xx answers `{"error": {"code", "message"}}`."""
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str), response.text


def test_api_conforms_to_its_openapi_spec(hashed_service: SearchService):
    """Every operation, 10 valid and 10 invalid generated requests each; writes are switched off (no token)."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.result import Err, Ok
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
              error_format]
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_api(hashed_service, write_token=""))
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), [result.err() for result in results if isinstance(result, Err)]
    assert len(operations) >= 9, [op.label for op in operations]
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=operation.as_strategy(mode))
            def conforms(case) -> None:
                case.call_and_validate(checks=checks)

            try:
                conforms()
            except Unsatisfiable:  # no invalid request exists (no inputs, or only any-string path parameters)
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
