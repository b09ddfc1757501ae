"""One way to run a server as a child process, for the tests and the benches: start it with its
command and environment (its output going to a log file), wait until its HTTP port answers, stop
it (SIGTERM, then SIGKILL after a grace period), and read what it wrote."""
from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional
from urllib.parse import urlsplit

import aiohttp

from motcua import PROJECT_ROOT
from motcua.settings import Settings

# Rasa and the action server run from the engine's environment (.venv) whichever environment runs
# the tests; the gateway from its own (.venv-gateway), as `motcua run` starts them.
ENGINE_PYTHON = Settings.from_env().engine_python
GATEWAY_PYTHON = Settings.from_env().gateway_python

# Whether an answer (HTTP status, body) means "ready".
Ready = Callable[[int, str], bool]


def status_200(status: int, body: str) -> bool:
    return status == 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def answers(url: str, timeout: float, proc: Optional[subprocess.Popen] = None, ok: Ready = status_200,
                  interval: float = 0.3) -> bool:
    """Poll a URL until it answers as `ok` wants (True), or the process exited, or time ran out (False)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                return False
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
                    if ok(r.status, await r.text()):
                        return True
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(interval)
    return False


class NotReady(RuntimeError):
    """A process that exited, or did not answer in time; the message ends with its log's tail."""


@dataclass
class Process:
    """A server run as a child process. `log` receives its output (appended to, so a restart
    keeps what the first run wrote; None: discarded); `url` is where it listens."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Optional[Path] = None
    url: str = ""
    cwd: Path = PROJECT_ROOT
    proc: Optional[subprocess.Popen] = None

    def start(self) -> "Process":
        if self.log is None:
            self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        else:
            with open(self.log, "ab") as out:  # the child keeps its own copy of the descriptor
                self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=out,
                                             stderr=subprocess.STDOUT)
        return self

    @property
    def port(self) -> Optional[int]:
        return urlsplit(self.url).port

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was not started"
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def ready(self, path: str = "", timeout: float = 60, ok: Ready = status_200) -> float:
        """Seconds until `url + path` answered as `ok` wants; NotReady if the process exited first
        or time ran out."""
        t0 = time.monotonic()
        if not await answers(self.url + path, timeout, self.proc, ok):
            if self.proc is not None and self.proc.poll() is not None:
                why = f"exited with code {self.proc.returncode}"
            else:
                why = f"did not answer in {timeout:.0f} s"
            raise NotReady(f"{self.name} ({self.url + path}) {why}\n{self.tail()}")
        return time.monotonic() - t0

    def wait_ready(self, path: str = "", timeout: float = 60, ok: Ready = status_200) -> float:
        """`ready`, from code that runs no event loop."""
        return asyncio.run(self.ready(path, timeout, ok))

    def stop(self, grace: float = 20, sig: int = signal.SIGTERM) -> Optional[int]:
        """`sig` (SIGTERM), then SIGKILL if it has not exited after `grace` seconds; its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def output(self, chars: int = 3000) -> str:
        """The end of what it wrote."""
        if self.log is None or not self.log.exists():
            return ""
        return self.log.read_text(errors="replace")[-chars:]

    def tail(self) -> str:
        return f"--- {self.name} ({self.log})\n{self.output()}"


def stop_all(processes: Iterable[Optional[Process]], grace: float = 30) -> None:
    """SIGTERM to every process first, then wait: replicas stop together, not one after another."""
    running = [p for p in processes if p is not None and p.running()]
    for p in running:
        assert p.proc is not None
        p.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in running:
        assert p.proc is not None
        try:
            p.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
