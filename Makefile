# Two commands on a fresh machine: `make run` and `make test`. Both bootstrap .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bootstrap browser bench clean

$(STAMP): pyproject.toml sdk/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]" -e ./sdk
	# Installed last so that our `openintent-server` script wins over the official
	# client's script of the same name.
	$(PY) -m pip install --quiet --no-deps --force-reinstall -e .
	touch $(STAMP)

bootstrap: $(STAMP)

run: bootstrap
	$(VENV)/bin/openintent-server

# Review screens are tested in Debian's Chromium (Playwright's own browser download does not
# work here); installed once, as root, when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

test: bootstrap browser
	$(VENV)/bin/ruff check .
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: bootstrap
	$(PY) bench/compare.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
