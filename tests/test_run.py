"""`motcua run` for real: starts Rasa, actions and gateway, answers, and stops leaving nothing."""
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid

from tests.support.processes import ENGINE_PYTHON, GATEWAY_PYTHON, Process, free_port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _listening_addresses() -> dict[int, str]:
    """port → IPv4 address of every listening TCP socket (from /proc/net/tcp)."""
    out = {}
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A":  # LISTEN
            ip_hex, port_hex = local.split(":")
            out[int(port_hex, 16)] = ".".join(str(int(ip_hex[i:i + 2], 16)) for i in (6, 4, 2, 0))
    return out


# The first aiohttp with fixes for every advisory known on 2026-12-06 (README, "Dependencies").
PATCHED_AIOHTTP = (3, 14, 4)


def _interpreter(pid: int) -> str:
    """The program a process was started as (argv[0])."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().split(b"\0")[0].decode()


def _version(python: str, module: str) -> tuple[int, ...]:
    out = subprocess.run([python, "-c", f"import {module}; print({module}.__version__)"], capture_output=True,
                         text=True, timeout=60, check=True)
    return tuple(int(part) for part in re.findall(r"\d+", out.stdout)[:3])


def test_the_gateway_environment_has_current_aiohttp_and_no_rasa():
    """Rasa 3.6 pins aiohttp below 3.10; the public gateway has an environment of its own."""
    assert GATEWAY_PYTHON != ENGINE_PYTHON
    assert _version(GATEWAY_PYTHON, "aiohttp") >= PATCHED_AIOHTTP
    assert subprocess.run([GATEWAY_PYTHON, "-c", "import rasa"], capture_output=True).returncode != 0
    assert _version(ENGINE_PYTHON, "rasa")[:2] == (3, 6)


def test_run_serves_the_web_chat_and_stops_cleanly(trained_model, tmp_path):
    port, rasa_port, action_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'motcua.db'}",
        "CASE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}",
    }
    log_path = tmp_path / "run.log"
    run = Process("motcua run", [ENGINE_PYTHON, "-m", "motcua.cli", "run"], env, log_path,
                  f"http://127.0.0.1:{port}").start()
    try:
        run.wait_ready("/healthz", 240)
        sender = str(uuid.uuid4())

        def say(text: str) -> tuple[list, str]:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/webchat/messages",
                                         data=json.dumps({"sender": sender, "message": text}).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read()), resp.headers["Server"]

        replies, server = say("xin chào")
        assert replies[0]["text"].startswith("Xin chào anh/chị")
        # A dossier lookup: the action server opens the store and the case database (SQLite).
        replies, _ = say("tra cứu hồ sơ 000.00.24.H08-999999-9999")
        assert "4 số cuối" in replies[-1]["text"]
        assert "aiohttp" not in server and "Python" not in server  # no versions to look up advisories by

        deadline = time.monotonic() + 15  # the supervisor polls /healthz itself, once a second
        while "ready after" not in log_path.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.2)
        output = log_path.read_text(errors="replace")
        pids = {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", output)}
        assert set(pids) == {"rasa", "actions", "gateway"}
        # Each from its own environment: the public gateway on current aiohttp, Rasa on its pins.
        assert _interpreter(pids["gateway"]) == GATEWAY_PYTHON
        assert _interpreter(pids["rasa"]) == _interpreter(pids["actions"]) == ENGINE_PYTHON
        for name in ("rasa", "actions", "gateway"):
            assert f"[{name.ljust(7)}]" in output  # each child's lines carry its name
        assert "ready after" in output

        # Rasa and the action server listen on loopback only, and Rasa's API wants the token.
        listening = _listening_addresses()
        rasa_addr, action_addr = listening[rasa_port], listening[action_port]
        assert rasa_addr == action_addr == "127.0.0.1"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{rasa_port}/status", timeout=10)
            raise AssertionError("Rasa's API answered without a token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401

        stopping = time.monotonic()
        assert run.stop(grace=60) == 0  # SIGTERM: a clean exit…
        time.sleep(0.5)
        assert not [n for n, pid in pids.items() if _alive(pid)]  # …leaving no child behind…
        # …each child gone by itself, none killed after the supervisor's 15 s (the action server
        # waited for its SQLite connections' threads until motcua/actions_run.py closed them).
        assert "did not stop" not in log_path.read_text(errors="replace")
        assert time.monotonic() - stopping < 12
    finally:
        run.kill()


def test_serve_gateway_becomes_the_gateway_in_its_own_environment(tmp_path):
    """`motcua serve gateway` (production: the image's gateway command) runs the engine's `motcua`
    and replaces itself with the gateway's interpreter: same process, patched aiohttp."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'motcua.db'}",
           "DOSSIER_WATCH_SECONDS": "0", "ESCALATION_CHECK_SECONDS": "0", "OFFICIALS_FEED_SECONDS": "0",
           "OUTBOX_SECONDS": "0"}
    serve = Process("motcua serve gateway", [ENGINE_PYTHON, "-m", "motcua.cli", "serve", "gateway", "--host", "127.0.0.1"],
                    env, tmp_path / "serve.log", f"http://127.0.0.1:{port}").start()
    try:
        # No Rasa here: the gateway answers that it is not ready (and that its database is).
        serve.wait_ready("/healthz", 120, ok=lambda status, body: status == 503 and '"database": "ok"' in body)
        assert _interpreter(serve.pid) == GATEWAY_PYTHON
        assert _listening_addresses()[port] == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.status == 200 and "aiohttp" not in resp.headers["Server"]
        assert serve.stop(grace=30) == 0
    finally:
        serve.kill()
