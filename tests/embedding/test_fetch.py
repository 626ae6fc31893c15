"""Fetching a model split across wheels: checked, joined, unpacked once, never half-published."""
from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from search.embedding import _model_cache
from search.embedding._fetch import REQUIRED, SplitModel, fetch, fetched, main, require
from search.errors import ModelError

FILES = {name: f"{name} contents".encode() for name in REQUIRED}


def _split_model(folder: Path, parts: int = 3) -> SplitModel:
    """Wheels like the mpnet parts: each holds one piece of a zip of the model folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in FILES.items():
            archive.writestr(f"tiny-model/{name}", data)
        archive.writestr("tiny-model/desktop.ini", b"x")
    joined = buffer.getvalue()
    size = -(-len(joined) // parts)
    wheels = []
    for i in range(parts):
        distribution = f"tiny-model-part-00{i + 1}"
        wheel = folder / f"{distribution.replace('-', '_')}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"part_00{i + 1}/input/tiny-model.zip.00{i + 1}", joined[i * size:(i + 1) * size])
        wheels.append((distribution, hashlib.sha256(wheel.read_bytes()).hexdigest()))
    return SplitModel("tiny-model", "0.0.1", tuple(wheels), hashlib.sha256(joined).hexdigest())


def test_fetch_joins_checks_and_publishes_once(tmp_path, monkeypatch):
    monkeypatch.setenv("STORY_SEARCH_CACHE", str(tmp_path / "cache"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    model = _split_model(wheels)
    with pytest.raises(ModelError, match="python -m search.embedding fetch mpnet"):
        require(model, "mpnet")
    folder = fetch(model, wheels)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name in FILES} == FILES
    assert not (folder / "desktop.ini").exists() and fetched(model) == folder == require(model, "mpnet")
    stamp = (folder / _model_cache.MANIFEST).stat().st_mtime_ns
    fetch(model, wheels)  # idempotent: a whole copy is left as it is
    assert (folder / _model_cache.MANIFEST).stat().st_mtime_ns == stamp


def test_a_damaged_or_missing_wheel_publishes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("STORY_SEARCH_CACHE", str(tmp_path / "cache"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    model = _split_model(wheels)
    first = sorted(wheels.iterdir())[0]
    first.write_bytes(first.read_bytes()[:-1] + b"!")
    with pytest.raises(ModelError, match="sha256"):
        fetch(model, wheels)
    first.unlink()
    with pytest.raises(ModelError, match="is not in"):
        fetch(model, wheels)
    assert fetched(model) is None
    assert not [p for p in (tmp_path / "cache" / "models").iterdir() if not p.name.endswith(".lock")]


def test_the_command_says_what_went_wrong_without_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STORY_SEARCH_CACHE", str(tmp_path / "cache"))
    assert main(["mpnet", "--from", str(tmp_path)]) == 1
    assert "error:" in capsys.readouterr().err


def test_the_set_up_steps_are_reached_by_name(capsys: pytest.CaptureFixture) -> None:
    from search.embedding.__main__ import main as set_up

    assert set_up(["download-everything"]) == 2
    assert "usage: python -m search.embedding {convert,fetch}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        set_up(["fetch", "--help"])
    assert stop.value.code == 0 and "python -m search.embedding fetch" in capsys.readouterr().out
