"""Every way into the program puts its settings in place before the libraries that read them load: the
model hub offline, Gradio's analytics and version check off, onnxruntime's telemetry off, Gradio's temporary
files under the project's cache, OpenMP's idle spinning bounded. Each entry point runs in a real process
whose library imports are watched (`tests/audit/sitecustomize.py`), started with hostile values."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from search._environment import PRIVACY, SPIN_COUNT, cache_root, settle
from tests.helpers import ROOT, audit_events, audited_env

# What a machine might have set: each must be overridden, not trusted.
HOSTILE = {"HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "0", "GRADIO_ANALYTICS_ENABLED": "True",
           "ORT_DISABLE_TELEMETRY": "0", "RAY_USAGE_STATS_ENABLED": "1"}
EXPECTED = {**PRIVACY, "GOMP_SPINCOUNT": SPIN_COUNT}
PYTHON_API = ("import sys, search; from search.serving._server import create_app; "
              "service = search.SearchService.open(sys.argv[1]); service.search('police training', 3); "
              "create_app(service)")
ENTRIES = {
    "python-api": (["-c", PYTHON_API, "{index}"], {"faiss", "onnxruntime", "gradio", "huggingface_hub"}),
    "command-line": (["-m", "search", "query", "police training", "--index-dir", "{index}"], {"faiss", "onnxruntime"}),
    "app.py": ([str(ROOT / "app.py"), "--index-dir", "{missing}"], {"faiss"}),
}


@pytest.mark.parametrize("args, libraries", ENTRIES.values(), ids=ENTRIES.keys())
def test_each_library_loads_after_the_settings_it_reads(seed_index: Path, tmp_path: Path, args: list[str],
                                                        libraries: set[str]):
    log = tmp_path / "audit.jsonl"
    env = audited_env(log, OMP_WAIT_POLICY="", GOMP_SPINCOUNT="", GRADIO_TEMP_DIR="", **HOSTILE)
    argv = [a.format(index=seed_index, missing=tmp_path / "no-index") for a in args]
    run = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in run.stderr, run.stderr
    loaded = {event["library"]: event["environment"] for event in audit_events(log, "load")}
    assert libraries <= set(loaded), (sorted(loaded), run.stderr[-2000:])
    for library, environment in loaded.items():
        found = {name: environment.get(name) for name in EXPECTED}
        assert found == EXPECTED, f"{library} loaded with {found}"
        assert environment["GRADIO_TEMP_DIR"] == str(cache_root() / "gradio"), library


def test_faiss_is_not_loaded_before_the_spin_count_is_set():
    """`import search` loads FAISS (the vector engines); the spin count must already be there, so the order of
    imports inside the package cannot undo it."""
    code = ("import sys\nclass Early:\n    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'faiss':\n            import os\n"
            "            print('GOMP_SPINCOUNT', os.environ.get('GOMP_SPINCOUNT'))\n"
            "sys.meta_path.insert(0, Early())\nimport search\nprint('faiss loaded:', 'faiss' in sys.modules)")
    env = audited_env(Path("/dev/null"), OMP_WAIT_POLICY="", GOMP_SPINCOUNT="")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.stdout.splitlines() == [f"GOMP_SPINCOUNT {SPIN_COUNT}", "faiss loaded: True"], run.stdout + run.stderr


def test_a_wait_policy_or_gradio_folder_the_user_chose_is_kept_and_privacy_is_not_negotiable():
    chosen = {"OMP_WAIT_POLICY": "PASSIVE", "GRADIO_TEMP_DIR": "/srv/gradio", "STORY_SEARCH_CACHE": "/srv/cache",
              **HOSTILE}
    settle(chosen)
    assert "GOMP_SPINCOUNT" not in chosen and chosen["GRADIO_TEMP_DIR"] == "/srv/gradio"
    assert {name: chosen[name] for name in HOSTILE} == {name: EXPECTED[name] for name in HOSTILE}
    unset: dict[str, str] = {"STORY_SEARCH_CACHE": "/srv/cache"}
    settle(unset)
    assert unset["GRADIO_TEMP_DIR"] == "/srv/cache/gradio" and unset["GOMP_SPINCOUNT"] == SPIN_COUNT
