# Two commands for a newcomer: `make run` (needs .env) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt

install-dev: $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt

run: install
	$(BIN)/python bot.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

test: lint
	$(BIN)/pytest -q -n auto
	$(BIN)/python -m bench --smoke

# Benchmarks of bot.py against the loopback fakes (README, "Benchmarks"); the PostgreSQL figures use
# TEST_POSTGRES_URL. bench-smoke is the small run with regression bounds (non-zero exit on failure).
.PHONY: bench bench-smoke

bench: install-dev
	$(BIN)/python -m bench

bench-smoke: install-dev
	$(BIN)/python -m bench --smoke
