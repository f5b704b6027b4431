# Two commands matter: `make run` and `make test`. Everything installs from uv.lock into .venv/.
PYTHON ?= python3
UV_VERSION := 0.13.9
BOOT := .uv
UV := $(BOOT)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Never let uv fetch an interpreter: the machine's own Python is the one we support.
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint typecheck unit bench wrk scan clean install

# uv itself is bootstrapped from PyPI into a private venv, so a machine needs only Python and make.
$(UV):
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked --all-extras --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced

run: install
	$(VENV)/bin/jwtauth serve

lint: install
	$(VENV)/bin/ruff check src tests bench examples deploy
	$(VENV)/bin/ruff format --check src tests bench examples deploy

typecheck: install
	$(VENV)/bin/mypy

unit: install
	$(VENV)/bin/pytest --cov --cov-report=term

# Hardcoded secrets; .secrets.baseline accepts the reviewed test fixtures and doc examples.
scan: install
	$(VENV)/bin/jwtauth scan --baseline .secrets.baseline .

test: lint typecheck scan unit

# The HTTP benchmarks load the servers with wrk (Debian's package); as root it is installed here.
wrk:
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get install -y -qq wrk >/dev/null; } || echo "wrk is missing: the HTTP benchmarks will say so and skip"

bench: install wrk
	$(VENV)/bin/python -m bench.tokens
	$(VENV)/bin/python -m bench.server
	$(VENV)/bin/python -m bench.integrations
	$(VENV)/bin/python -m bench.wsgi
	$(VENV)/bin/python -m bench.embedded
	$(VENV)/bin/python -m bench.fleet
	$(VENV)/bin/python -m bench.transit

clean:
	rm -rf $(BOOT) $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
