# Two commands matter: `make demo` (train the seed CNN on Fashion-MNIST) and `make test`.
# Each sets up everything it needs: the virtual environment, the package, the data.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FASHION_DIR := /usr/share/datasets/fashion-mnist

.PHONY: demo test smoke lint setup system-deps clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt setup.py convscope/ops/_cpu_kernels.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

# Debian packages the tests use: Fashion-MNIST and a headless Chromium for the web page tests.
# Where apt is missing the loaders download Fashion-MNIST and the browser tests are skipped.
system-deps:
	@if command -v apt-get >/dev/null 2>&1; then \
	  missing=""; \
	  [ -d $(FASHION_DIR) ] || missing="$$missing dataset-fashion-mnist"; \
	  command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	  if [ -n "$$missing" ]; then \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	  fi; \
	fi

demo: $(STAMP) system-deps
	$(VENV)/bin/convscope demo --out demo-model

# Two test processes, one thread each: two OpenMP threads per process on two busy cores make
# every parallel region wait for a descheduled partner (4-6x slower, benchmarks/LEVERS.md).
# Then the tests whose results depend on the CPU path run twice more: with the compiled kernels
# off, and with PyTorch and oneDNN held to AVX2 (what an AVX2-only CPU such as AMD Zen 3 runs:
# the AVX2 kernel build, float32-only oneDNN with emulated bfloat16). The kernel tests run every
# build the CPU loads in each pass; the slow fault tests set the kernels per case themselves.
PYTEST := OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadfile
CPU_PATH_TESTS := tests/ops tests/engine tests/layers tests/models tests/faults tests/distributed
test: $(STAMP) system-deps
	$(VENV)/bin/lint-imports
	$(PYTEST)
	CONVSCOPE_CPU_KERNELS=0 $(PYTEST) -q $(CPU_PATH_TESTS) \
	  --ignore tests/faults/test_sigkill_resume.py --ignore tests/faults/test_cli_resume.py
	ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 $(PYTEST) -q $(CPU_PATH_TESTS)

smoke: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -m "not slow" -n 2 -x -q

lint: $(STAMP)
	$(VENV)/bin/ruff check convscope tests benchmarks
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache demo-model
