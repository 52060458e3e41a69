# Frontline: `make run` serves the guidance on http://127.0.0.1:8000, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)

.PHONY: install run test lint format bench messages icons clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/frontline db upgrade
	$(BIN)/frontline content import content/ --if-empty --notes "Initial import of content/"
	$(BIN)/frontline serve --host 127.0.0.1 --port 8000

# The whole suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL names a server.
test: $(STAMP)
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(BIN)/python -m pytest; \
	else \
		echo "TEST_DATABASE_URL is not set: skipped the PostgreSQL run."; \
	fi

lint: $(STAMP)
	$(BIN)/ruff format --check app tests bench migrations
	$(BIN)/ruff check app tests bench migrations
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format app tests bench migrations
	$(BIN)/ruff check --fix app tests bench migrations

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Extract page strings into the catalog template that translators start from.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o app/locales/messages.pot --no-wrap --omit-header .

# Redraw the app icons in static/icons/ (a test checks the committed files match).
icons: $(STAMP)
	$(BIN)/python -m app.pwa.icons

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
