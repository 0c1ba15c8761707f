# The README's two commands: `make run` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HTMX := node_modules/htmx.org/package.json

.PHONY: install run test bench clean

install: $(STAMP) $(HTMX)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || (scripts/services.sh packages venv && $(PYTHON) -m venv $(VENV))
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# lifetimes is installed only for the CDNOW data files it ships (tests read them; its code is never imported).
	$(BIN)/python -m pip install -q --no-deps lifetimes==0.11.3
	touch $@

$(HTMX): package.json
	scripts/services.sh packages npm
	npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error
	touch $@

run: install
	scripts/run.sh

test: install
	scripts/test.sh $(ARGS)

bench: install
	scripts/bench.sh

clean:
	rm -rf $(VENV) node_modules .pytest_cache tests/artifacts
