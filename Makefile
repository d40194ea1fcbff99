# Two commands for everything: `make run` (the local stack) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint browser bench faults clean lock

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/hooktide run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Debian's headless Chromium (and its driver) for the console's browser tests, installed when
# missing, as `bench` installs wrk; tests/support/browser.py drives /usr/bin/chromium.
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver)

# pytest exits 5 when it collects nothing: make fails then too, as on any other failure.
test: lint browser
	$(BIN)/python -m pytest

# The same without the scenarios marked slow (whole stacks, fault injection, hostile input).
test-fast: lint browser
	$(BIN)/python -m pytest -m "not slow"

# Sequential ack latency, then throughput against the ceilings (needs wrk: installed here).
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null || (apt-get update && apt-get install -y nginx)
	# Bytecode compiled once, as `pip install` does for a deployed worker: without it each
	# workflow run's sandbox compiles the workflow modules again (PYTHONDONTWRITEBYTECODE).
	$(BIN)/python -m compileall -q webhook_gateway workflows activities worker.py
	$(BIN)/python bench/ack_latency.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/outbound_rate.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/codec.py
	$(BIN)/python bench/ack_path.py
	$(BIN)/python bench/console_lists.py
	$(BIN)/python bench/flow.py

faults: $(STAMP)
	$(BIN)/python -m faults.harness

# Re-pin every dependency after changing pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable --exclude hooktide > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
