# ttsign developer entry points. Every target sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements-test.txt 2>/dev/null | md5sum | cut -c1-12)

.PHONY: serve test bench soak lint fmt clean venv node
NODE_DIR := tests/e2e/node
NODE_STAMP := $(NODE_DIR)/node_modules/.ttsign-stamp

$(STAMP): pyproject.toml requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -r requirements-test.txt
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

# The unmodified tiktok-live-connector used by the end-to-end tests (lockfile in tests/e2e/node).
$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_STAMP)

# Debian's chromium for the page tests (tests/e2e/test_pages_chromium.py drives it; never a browser download).
chromium:
	command -v chromium >/dev/null || apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium) || echo "chromium missing: the page tests will be skipped"

serve: $(STAMP)
	$(VENV)/bin/ttsign serve

test: $(STAMP) $(NODE_STAMP) chromium
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

bench: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y -q wrk || echo "wrk missing: HTTP load figures will be skipped"
	$(PY) -m benchmarks
	$(PY) -m benchmarks.load

# Minutes of steady load with RSS sampled (not part of `make test`); figures go in the closing notes.
soak: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y -q wrk
	$(PY) -m benchmarks.soak

lint: $(STAMP)
	$(PY) -m ruff check .

fmt: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
