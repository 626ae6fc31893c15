"""The command line as a user runs it: a real process, JSON on stdout, errors as one line and a non-zero exit."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import DEV_RELATED, TOPIC_QUESTION, cli

SMUGGLING_STORIES = {
    "Costa Rica, Panama, and the Dominican Republic Strengthened their Tools to Combat Migrant Smuggling",
    "Panama and Costa Rica strengthen actions to combat migrant smuggling and cybercrime",
    "IOM concludes first Tri-National Conference on Illicit Trafficking of Migrants and Related Crimes between "
    "Colombia, Panama and Costa Rica",
}


def test_query_json_lists_the_smuggling_stories_first(seed_index: Path):
    run = cli("query", "police training against migrant smuggling", "--json", index=seed_index)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert {h["title"] for h in result["hits"][:3]} == SMUGGLING_STORIES
    assert set(result) >= {"query", "answerable", "hits", "took_ms"}
    assert set(result["hits"][0]) >= {"id", "title", "score", "date", "place", "snippet"}


def test_query_diversify_is_the_services_mmr_order(seed_index: Path, service):
    run = cli("query", TOPIC_QUESTION, "--diversify", "--json", index=seed_index)
    assert run.returncode == 0, run.stderr
    want = [h.story.id for h in service.search(TOPIC_QUESTION, 10, diversify=True).hits]
    assert [h["id"] for h in json.loads(run.stdout)["hits"]] == want


def test_similar_excludes_the_story(seed_index: Path):
    first = json.loads(cli("query", "smuggling", "--json", "-k", "1", index=seed_index).stdout)["hits"][0]["id"]
    run = cli("similar", first, "-k", "3", "--json", "--index-dir", str(seed_index))
    hits = json.loads(run.stdout)["hits"]
    assert len(hits) == 3 and first not in {h["id"] for h in hits}


def test_eval_json_prints_every_metric(seed_index: Path, dev_queries: Path):
    run = cli("eval", str(dev_queries), "--related", str(DEV_RELATED), "--json", "-q", index=seed_index)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    for block in [report["metrics"], *report["per_category"].values(), report["related"]["metrics"]]:
        assert set(block) >= {"ndcg@10", "mrr@10", "recall@5", "recall@10"}
    assert {"semantic", "keyword", "spanish", "acronym", "multi", "question"} <= set(report["per_category"])
    assert report["no_answer"]["questions"] == 3


def test_build_reports_up_to_date_without_rewriting(index_copy: Path):
    manifest = (index_copy / "manifest.json").read_text()
    run = cli("build", "--corpus", "seeds", "--json", "--index-dir", str(index_copy))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "up to date"
    assert (index_copy / "manifest.json").read_text() == manifest


def test_build_chooses_the_engine_and_a_rebuild_keeps_it(index_copy: Path):
    run = cli("build", "--index-type", "faiss-hnsw", "--index-params", '{"ef_search": 64}', "--json",
              "--index-dir", str(index_copy))
    assert run.returncode == 0, run.stderr
    built = json.loads(run.stdout)
    assert built["status"] == "built" and built["index"]["type"] == "faiss-hnsw"
    assert built["index"]["params"]["ef_search"] == 64
    again = json.loads(cli("build", "--json", "--index-dir", str(index_copy)).stdout)
    assert again["status"] == "up to date" and again["index"] == built["index"]
    tuned = json.loads(cli("build", "--index-params", '{"ef_search": 128}', "--json", "--index-dir",
                           str(index_copy)).stdout)  # new parameters, same engine
    assert tuned["index"]["type"] == "faiss-hnsw" and tuned["index"]["params"]["ef_search"] == 128


@pytest.mark.parametrize("args, status, message", [
    (("--index-params", "[1]"), 2, "must be a JSON object"),
    (("--index-params", "{nprobe: 1}"), 2, "not JSON"),
    (("--index-type", "annoy"), 2, "invalid choice"),
    (("--index-type", "faiss-ivf", "--index-params", '{"nprobes": 8}'), 1,
     "index type faiss-ivf takes no parameter nprobes; it takes: nlist, nprobe, sq8"),
    (("--index-params", '{"treshold": 10}'), 1, "index type auto takes no parameter treshold"),
])
def test_bad_engine_settings_are_refused_before_anything_is_written(tmp_path: Path, args, status, message):
    run = cli("build", *args, "--index-dir", str(tmp_path / "idx"))
    assert run.returncode == status and message in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "idx" / "manifest.json").exists()


@pytest.mark.parametrize("args, message", [
    (("query", "   "), "the question is empty"),
    (("query", "x", "-k", "0"), "k must be a whole number from 1 to 100"),
    (("similar", "no-such-id"), "no story with id 'no-such-id'"),
])
def test_bad_input_is_one_line_and_exit_1(seed_index: Path, args, message):
    run = cli(*args, index=seed_index)
    assert run.returncode == 1 and message in run.stderr and "Traceback" not in run.stderr
    assert run.stdout == ""


def test_missing_index_says_how_to_build(tmp_path: Path):
    run = cli("query", "x", "--index-dir", str(tmp_path / "none"))
    assert run.returncode == 1 and "python -m search build" in run.stderr


def test_malformed_corpus_names_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "ok", "body": "fine."}\nnot json\n')
    run = cli("build", "--corpus", str(bad), "--index-dir", str(tmp_path / "idx"))
    assert run.returncode == 1 and f"{bad}:2: invalid JSON" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "idx" / "manifest.json").exists()


def test_add_json_names_the_ids_it_filed(hashed_copy: Path, tmp_path: Path):
    story = tmp_path / "rescue.txt"
    story.write_text("Coast guards trained in sea rescue\n\nCoast guards of three island states trained in rescuing "
                     "migrants at sea.\n", encoding="utf-8")
    run = cli("add", str(story), "--json", index=hashed_copy)
    assert run.returncode == 0, run.stderr
    added = json.loads(run.stdout)
    [filed] = added["ids"]
    shown = json.loads(cli("similar", filed, "--json", index=hashed_copy).stdout)
    assert shown["title"] == "Coast guards trained in sea rescue" and added["story_count"] == 45


def test_a_ray_build_asked_for_in_a_way_that_cannot_work_is_one_error_line(tmp_path: Path):
    for args, needle in ((["--ray", "auto", "--ray-actors-per-node", "0"], "at least 1"),
                         (["--ray", " "], "cluster's address")):
        done = cli("build", "--model", "hashing", "--index-dir", str(tmp_path / "index"), *args)
        assert done.returncode == 1 and done.stderr.strip().startswith("error:") and needle in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / "index").exists()
