"""The baseline: `rasa init --no-prompt` (moodbot, Rasa's default config), created and trained
once and kept in bench/results/baseline-rasa-init/, served by `rasa run --enable-api`."""
from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from bench.load.common import BASELINE_CACHE, say
from tests.support.processes import Process, free_port
from tests.support.servers import rasa_ready


class BaselineStack:
    def __init__(self, fresh: bool) -> None:
        self.fresh = fresh
        self.server: Optional[Process] = None
        self.port = free_port()
        self.dir: Optional[Path] = None
        self.tmp: Optional[Path] = None
        self.info: dict[str, Any] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _rasa(self) -> str:
        return str(Path(sys.executable).parent / "rasa")

    async def prepare(self) -> None:
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
        models = sorted((BASELINE_CACHE / "models").glob("*.tar.gz")) if BASELINE_CACHE.exists() else []
        if models and not self.fresh:
            self.dir = BASELINE_CACHE
            self.info["training_s"] = None
            say(f"baseline: rasa init assistant from {BASELINE_CACHE} (trained before; --fresh-baseline for a new one)")
            return
        self.tmp = Path(tempfile.mkdtemp(prefix="rasa-init-"))
        say(f"baseline: `rasa init --no-prompt --init-dir {self.tmp}` (creates and trains moodbot, ~2 min here)…")
        t = time.monotonic()
        proc = await asyncio.create_subprocess_exec(self._rasa(), "init", "--no-prompt", "--init-dir", str(self.tmp),
                                                    cwd=self.tmp, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)
        if await proc.wait() != 0 or not list((self.tmp / "models").glob("*.tar.gz")):
            raise RuntimeError("rasa init failed")
        self.info["training_s"] = round(time.monotonic() - t, 1)
        say(f"baseline: created and trained in {self.info['training_s']} s")
        shutil.rmtree(BASELINE_CACHE, ignore_errors=True)
        shutil.copytree(self.tmp, BASELINE_CACHE)
        self.dir = self.tmp

    async def start(self) -> None:
        assert self.dir is not None, "prepare() first"
        model = sorted((self.dir / "models").glob("*.tar.gz"))[-1]
        self.info["model"] = model.name
        t = time.monotonic()
        self.server = Process("baseline", [self._rasa(), "run", "--enable-api", "--model", str(model),
                                           "--interface", "127.0.0.1", "--port", str(self.port)],
                              {**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
                              Path(tempfile.gettempdir()) / f"rasa-baseline-{self.port}.log", self.base, cwd=self.dir)
        await self.server.start().ready("/status", 300, rasa_ready)
        self.info["cold_start_s"] = round(time.monotonic() - t, 1)
        say(f"baseline: `rasa run --enable-api` ready after {self.info['cold_start_s']} s on :{self.port}")

    def pids(self) -> dict[str, int]:
        return {"bench": os.getpid(), "rasa": self.server.pid} if self.server else {"bench": os.getpid()}

    async def stop(self) -> None:
        if self.server is not None:
            self.server.stop(grace=30)
            if self.server.log is not None:
                self.server.log.unlink(missing_ok=True)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.server = None
        self.tmp = None
