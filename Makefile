# Two commands a new user needs: `make demo` and `make test`. Both create (or reuse) .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo demo-sales demo-generation test lint bench clean-state chromium

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: this exact version resolves to the CPU build here.
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[dev]"
	# Pre-compile bytecode once: `import prefect` is ~7 s without it, ~3 s with.
	$(PY) -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/talentflow demo

# The daily sales system (examples/daily_sales): time partitions, checks, a late row.
demo-sales: $(STAMP)
	$(PY) -m examples.daily_sales.demo

# The generation system (examples/generation): a small cohort, drafts -> essays -> evaluations.
demo-generation: $(STAMP)
	$(PY) -m examples.generation.demo

test: $(STAMP) chromium
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

# The Prefect UI browser test drives Debian's Chromium (tests/e2e/test_prefect_ui.py).
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing Chromium for the browser test (apt-get install chromium)"; \
	  (apt-get install -y -q chromium > /dev/null 2>&1 || \
	   (apt-get update -q > /dev/null 2>&1 && apt-get install -y -q chromium > /dev/null 2>&1)) \
	  || sudo -n apt-get install -y -q chromium > /dev/null 2>&1 \
	  || { echo "could not install Chromium: apt-get install chromium, then make test"; exit 1; }; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/pipeline_vs_encode.py

clean-state:
	rm -rf .talentflow
