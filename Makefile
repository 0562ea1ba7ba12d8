# Two commands on a fresh machine: `make demo` (the daemon on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint install clean soak

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/nurture --config config.example.toml demo

lint: $(STAMP)
	$(BIN)/ruff check nurture tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# The slow half of the reliability suite, outside `make test` (figures: docs/reliability.md):
# the kill -9 loop at full length, then 50,000 leads through the 7-touch sequence on SQLite
# and on PostgreSQL (3 workers) while tracking traffic runs.
soak: $(STAMP)
	FAULTS_KILLS=20 FAULTS_KILL_TOUCHES=5000 $(BIN)/pytest -s -p no:cacheprovider \
		tests/faults/test_kill_loop.py
	$(BIN)/python bench/soak.py --leads 50000 --database both

clean:
	rm -rf $(VENV) nurture.db outbox demo
