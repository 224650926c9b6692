# Two commands do all the set-up on a fresh machine with Python 3.10+ and make:
#   make demo   decode the bundled example payloads with the smsstatus command
#   make test   lint, type-check, check the layers, run the tests with coverage, build the docs
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $@ $(VENV)/.demo

# Each example holds one deliberately bad item, so the command exits 1 on it.
demo: $(VENV)/.demo
	$(BIN)/smsstatus decode examples/statuses.xml || [ $$? -eq 1 ]
	$(BIN)/smsstatus decode examples/statuses.json || [ $$? -eq 1 ]

test: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict smsstatus
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest --cov --cov-report=term
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache .pytest_cache .hypothesis .nox \
		docs/_build dist
