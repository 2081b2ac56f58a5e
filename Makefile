# The two set-up commands (see README): `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed
TEST_BACKENDS ?= sqlite postgresql
# The fault suite runs ~5 min on a busy 2-core machine; past this it is stopped (SIGINT first, so
# that it still kills every process it started, and writes what it has of its table).
FAULTS_TIMEOUT ?= 600

.PHONY: run test faults lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml scripts/install-test-deps | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	scripts/install-test-deps
	touch $@ $(RUN_STAMP)

# Development mode (--dev): deliveries may reach receivers on this machine. PORT=9090 to move it.
run: $(RUN_STAMP)
	$(VENV)/bin/hookhub serve --dev $(if $(PORT),--port $(PORT))

lint: $(TEST_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint
	@set -e; for backend in $(TEST_BACKENDS); do \
		echo "== test suite on $$backend =="; \
		HOOKHUB_TEST_DB=$$backend $(PY) -m pytest -p no:cacheprovider --ignore=tests/faults $(PYTEST_ARGS); \
	done
	@$(MAKE) --no-print-directory faults

# Processes killed, PostgreSQL and Redis stopped or frozen, receivers misbehaving, under load, on a
# private PostgreSQL and Redis it starts itself; prints a table (also artifacts/faults.md).
faults: $(TEST_STAMP)
	@echo "== fault suite =="
	timeout --signal=INT --kill-after=30 $(FAULTS_TIMEOUT) $(PY) -m pytest -p no:cacheprovider tests/faults

bench: $(TEST_STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) *.db *.db-wal *.db-shm artifacts
