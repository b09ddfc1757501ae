"""Optional: py-spy recording each of our processes while one level runs (`--profile-level`)."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.support.processes import Process


class Profiler:
    """py-spy record of each of our processes while one level runs (raw collapsed stacks)."""

    def __init__(self, py_spy: str, level: int, out: Path) -> None:
        self.py_spy, self.level, self.out = py_spy, level, out
        self.procs: list[tuple[Process, Path]] = []

    def start(self, pids: dict[str, int], stamp: str) -> None:
        for name, pid in pids.items():
            if name == "bench":
                continue
            path = self.out / f"profile-{stamp}-{name}-{self.level}.txt"
            spy = Process(name, [self.py_spy, "record", "-p", str(pid), "-r", "97", "--nonblocking", "-f", "raw",
                                 "-o", str(path)], dict(os.environ))
            self.procs.append((spy.start(), path))

    def stop(self) -> dict[str, str]:
        """SIGINT makes py-spy write its file."""
        out = {}
        for spy, path in self.procs:
            spy.stop(grace=30, sig=signal.SIGINT)
            out[spy.name] = str(path)
        self.procs = []
        return out
