# ttsign developer entry points. Every target sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# What is installed is recorded by stamps inside the venv: serving needs only the package (`pip install -e .`),
# the test/dev targets add '.[dev]' and requirements-test.txt.
STAMP       := $(VENV)/.installed-$(shell cat pyproject.toml requirements-test.txt 2>/dev/null | md5sum | cut -c1-12)
SERVE_STAMP := $(VENV)/.serve-$(shell cat pyproject.toml 2>/dev/null | md5sum | cut -c1-12)
# A venv left broken by an earlier failed run (python missing, or pip not importable) is rebuilt.
VENV_BROKEN := $(if $(wildcard $(VENV)),$(shell $(PY) -c 'import pip' >/dev/null 2>&1 || echo yes))
VENV_FORCE  := $(if $(VENV_BROKEN),venv-broken)
VENV_MAKE   = $(PY) -c 'import pip' >/dev/null 2>&1 || { \
	  if [ -e $(VENV) ]; then echo "$(VENV) is broken (its python or pip does not run): recreating it"; rm -rf $(VENV); fi; \
	  $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	    echo "error: '$(PYTHON) -m venv' failed. Install the venv module (Debian/Ubuntu: apt install python3-venv)," \
	      "or run with PYTHON=/path/to/python3.11+, then run make again."; exit 1; }; }

.PHONY: serve test bench soak lint fmt clean venv node chromium nginx
NODE_DIR := tests/e2e/node
NODE_STAMP := $(NODE_DIR)/node_modules/.ttsign-stamp

$(STAMP): pyproject.toml requirements-test.txt $(VENV_FORCE)
	@$(VENV_MAKE)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -r requirements-test.txt
	rm -f $(VENV)/.installed-* $(VENV)/.serve-*
	touch $@ $(SERVE_STAMP)

$(SERVE_STAMP): pyproject.toml $(VENV_FORCE)
	@$(VENV_MAKE)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	rm -f $(VENV)/.serve-*
	touch $@

.PHONY: venv-broken
venv-broken:
	@echo "$(VENV) is broken (its python or pip does not run): it will be recreated"

venv: $(STAMP)

# The unmodified tiktok-live-connector used by the end-to-end tests (lockfile in tests/e2e/node).
$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_STAMP)

# Other client versions, each in its own environment so they never disturb the 7.x / 2.x tests:
# a pinned Python client per tests/e2e/envs/<name>/requirements.txt (venv in .venvs/<name>), and an npm
# lockfile per tests/e2e/node-<name>/ (its own node_modules).
CLIENT_REQS   := $(wildcard tests/e2e/envs/*/requirements.txt)
CLIENT_STAMPS := $(patsubst tests/e2e/envs/%/requirements.txt,.venvs/%/.ttsign-stamp,$(CLIENT_REQS))
NODE_LOCKS    := $(wildcard tests/e2e/node-*/package-lock.json)
NODE_STAMPS   := $(patsubst %/package-lock.json,%/node_modules/.ttsign-stamp,$(NODE_LOCKS))

.venvs/%/.ttsign-stamp: tests/e2e/envs/%/requirements.txt
	rm -rf .venvs/$*
	$(PYTHON) -m venv .venvs/$*
	.venvs/$*/bin/python -m pip install --quiet -r $<
	touch $@

tests/e2e/node-%/node_modules/.ttsign-stamp: tests/e2e/node-%/package.json tests/e2e/node-%/package-lock.json
	cd tests/e2e/node-$* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: clients
clients: $(CLIENT_STAMPS) $(NODE_STAMPS)

# Debian's redis-server for the store tests (tests/store, tests/api/test_store_*.py start their own on free ports).
.PHONY: redis
redis:
	command -v redis-server >/dev/null || apt-get install -y -q redis-server || (apt-get update -q && apt-get install -y -q redis-server)
test: redis

# Debian's chromium for the page tests (tests/e2e/test_pages_chromium.py drives it; never a browser download).
chromium:
	command -v chromium >/dev/null || apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium) || echo "chromium missing: the page tests will be skipped"

# Debian's nginx for the balancer tests (tests/deploy runs deploy/nginx/nginx.conf with it on test ports).
nginx:
	command -v nginx >/dev/null || apt-get install -y -q nginx || (apt-get update -q && apt-get install -y -q nginx) || echo "nginx missing: the balancer tests will fail"

# The compiled fast path (accel/: Rust + PyO3, built by maturin into the venv) on a machine with cargo; the crates
# come from Debian (librust-pyo3-dev, librust-md-5-dev), never crates.io. Without cargo ttsign signs in pure Python.
ACCEL_SRC   := $(wildcard accel/Cargo.toml accel/Cargo.lock accel/pyproject.toml accel/.cargo/config.toml accel/src/*.rs)
ACCEL_STAMP := $(VENV)/.accel-$(shell cat $(ACCEL_SRC) 2>/dev/null | md5sum | cut -c1-12)
.PHONY: accel
accel: $(SERVE_STAMP)
	@if command -v cargo >/dev/null; then $(MAKE) --no-print-directory $(ACCEL_STAMP); \
	else echo "cargo missing: the compiled fast path is not built; ttsign signs in pure Python"; fi
$(ACCEL_STAMP): $(ACCEL_SRC)
	dpkg -s librust-pyo3-dev librust-md-5-dev >/dev/null 2>&1 || apt-get install -y -q librust-pyo3-dev librust-md-5-dev \
	  || (apt-get update -q && apt-get install -y -q librust-pyo3-dev librust-md-5-dev)
	$(PY) -m pip show -q maturin >/dev/null 2>&1 || $(PY) -m pip install --quiet maturin
	rm -rf accel/target/wheels
	cd accel && $(abspath $(VENV))/bin/maturin build --release --quiet --out target/wheels
	$(PY) -m pip install --quiet --force-reinstall --no-deps accel/target/wheels/*.whl
	rm -f $(VENV)/.accel-*
	touch $@

serve: $(SERVE_STAMP) accel
	$(PY) -m ttsign serve

test: $(STAMP) $(NODE_STAMP) clients chromium nginx accel
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

bench: $(STAMP) accel
	command -v wrk >/dev/null || apt-get install -y -q wrk || echo "wrk missing: HTTP load figures will be skipped"
	$(PY) -m benchmarks
	$(PY) -m benchmarks.load
	$(PY) -m benchmarks.workers
	$(PY) -m benchmarks.servers

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
	rm -rf $(VENV) .venvs .pytest_cache .ruff_cache .hypothesis accel/target
