"""`motcua run`: start Rasa, the action server and the gateway, and keep them together.

Every child's output is prefixed with its name. Ctrl-C or SIGTERM ends all children. If one
child dies, the others are stopped and the command exits non-zero with the reason: a half-running
bot (say, a gateway whose Rasa is gone) is worse than a clear stop that a service manager restarts.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Optional

import aiohttp

from motcua import PROJECT_ROOT

_PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 15


@dataclass
class ChildSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def _child_setup() -> None:
    # Own session: the terminal's Ctrl-C reaches only the supervisor, which stops children in order.
    os.setsid()
    # If the supervisor is killed outright, the kernel still ends the child.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class Supervisor:
    def __init__(self, specs: list[ChildSpec], ready_url: Optional[str] = None, out=None) -> None:
        self.specs = specs
        self.ready_url = ready_url
        self.out = out or sys.stdout
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.stopping = False
        self.reason: Optional[str] = None
        self._stop = asyncio.Event()
        self.width = max(len(s.name) for s in specs)

    def say(self, name: str, line: str) -> None:
        self.out.write(f"[{name.ljust(self.width)}] {line}\n")
        self.out.flush()

    async def _pump(self, name: str, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await stream.readline()
            except (ValueError, asyncio.LimitOverrunError):
                raw = await stream.read(65536)
            if not raw:
                return
            self.say(name, raw.decode("utf-8", "replace").rstrip("\n"))

    async def _watch(self, name: str, proc: asyncio.subprocess.Process, pump: asyncio.Task) -> None:
        code = await proc.wait()
        await pump
        if not self.stopping:
            self.reason = f"{name} exited unexpectedly with code {code}"
            self.say("motcua", self.reason + "; stopping the others")
            self._stop.set()

    def _on_signal(self, signum: int) -> None:
        if not self.stopping and self.reason is None:
            self.reason = f"signal {signal.Signals(signum).name}"
        self._stop.set()

    async def _announce_ready(self) -> None:
        if not self.ready_url:
            return
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            while not self._stop.is_set():
                try:
                    async with http.get(self.ready_url, timeout=aiohttp.ClientTimeout(total=3)) as resp:
                        if resp.status == 200:
                            self.say("motcua", f"ready after {time.monotonic() - started:.1f} s: {self.ready_url}")
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(1)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        watchers = []
        for spec in self.specs:
            env = {**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"}
            proc = await asyncio.create_subprocess_exec(
                *spec.argv, cwd=PROJECT_ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                preexec_fn=_child_setup, limit=1 << 20,
            )
            self.procs[spec.name] = proc
            self.say("motcua", f"started {spec.name} (pid {proc.pid})")
            assert proc.stdout is not None  # stdout=PIPE
            pump = asyncio.create_task(self._pump(spec.name, proc.stdout))
            watchers.append(asyncio.create_task(self._watch(spec.name, proc, pump)))
        ready = asyncio.create_task(self._announce_ready())
        try:
            await self._stop.wait()
        finally:
            ready.cancel()
            await self.stop_all()
            await asyncio.gather(*watchers, return_exceptions=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        if self.reason and self.reason.startswith("signal"):
            self.say("motcua", f"stopped on {self.reason}")
            return 0
        self.say("motcua", f"stopped: {self.reason}")
        return 1

    async def stop_all(self) -> None:
        self.stopping = True
        alive = [(n, p) for n, p in self.procs.items() if p.returncode is None]
        for name, proc in alive:
            self._signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, proc in alive:
            try:
                await asyncio.wait_for(proc.wait(), max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                self.say("motcua", f"{name} did not stop in {STOP_GRACE_SECONDS} s; killing it")
                self._signal_group(proc, signal.SIGKILL)
                await proc.wait()
        # Anything a child left in its process group goes too.
        for _name, proc in self.procs.items():
            self._signal_group(proc, signal.SIGKILL)

    @staticmethod
    def _signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
