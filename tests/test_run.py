"""`motcua run` for real: starts Rasa, actions and gateway, answers, and stops leaving nothing."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

from conftest import free_port, wait_http


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


def test_run_serves_the_web_chat_and_stops_cleanly(trained_model, tmp_path):
    port, rasa_port, action_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'motcua.db'}",
    }
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "motcua.cli", "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_http(f"http://127.0.0.1:{port}/healthz", 240, proc), log_path.read_text(errors="replace")[-4000:]
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/webchat/messages",
            data=json.dumps({"sender": str(uuid.uuid4()), "message": "xin chào"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            replies = json.loads(resp.read())
        assert replies[0]["text"].startswith("Xin chào anh/chị")

        deadline = time.monotonic() + 15  # the supervisor polls /healthz itself, once a second
        while "ready after" not in log_path.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.2)
        output = log_path.read_text(errors="replace")
        pids = {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", output)}
        assert set(pids) == {"rasa", "actions", "gateway"}
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

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        time.sleep(0.5)
        assert not [n for n, pid in pids.items() if _alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
