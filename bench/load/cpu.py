"""CPU seconds of the bench's processes, the PostgreSQL backends and Redis serving them, and the
whole machine (from /proc); PostgreSQL's client connections."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Optional

CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_mib(pid: int) -> float:
    """Resident memory of a process (VmRSS), MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def machine_busy_seconds() -> float:
    """CPU seconds the machine spent not idle (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLK


def service_pids(dbs: tuple[str, ...], redis: bool) -> dict[str, list[int]]:
    """The PostgreSQL backends connected to our databases (their titles name the database) and
    the Redis server: where the stores' CPU goes, which our processes' own figures leave out."""
    out: dict[str, list[int]] = {"postgresql": []}
    if redis:
        out["redis"] = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        cmd = cmdline(int(d.name))
        if dbs and cmd.startswith("postgres: ") and any(f" {db} " in cmd for db in dbs):
            out["postgresql"].append(int(d.name))
        elif redis and "redis-server" in cmd.split(" ", 1)[0]:
            out["redis"].append(int(d.name))
    return out if dbs or redis else {}


def pg_backends(dbs: tuple[str, ...]) -> tuple[int, int]:
    """PostgreSQL client connections (backend titles end in "host(port) state"): to our databases,
    and to the whole server, whose max_connections they share with anything else running."""
    ours = every = 0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            cmd = cmdline(int(d.name))
            if cmd.startswith("postgres: ") and re.search(r"\(\d+\) ", cmd):
                every += 1
                ours += any(f" {db} " in cmd for db in dbs)
    return ours, every


def cpu_sample(pids: dict[str, int], services: Optional[Callable[[], dict[str, list[int]]]]) -> dict[str, dict[int, float]]:
    out = {name: {pid: cpu_seconds(pid)} for name, pid in pids.items()}
    for name, group in (services() if services else {}).items():
        out[name] = {pid: cpu_seconds(pid) for pid in group}
    out["machine"] = {0: machine_busy_seconds()}
    return out


def cpu_delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds per name between two samples; a process that appeared in between (a new pooled
    connection's backend) counts from zero."""
    out = {name: round(sum(v - before.get(name, {}).get(pid, 0.0) for pid, v in now.items()), 2)
           for name, now in after.items()}
    out["other"] = round(out["machine"] - sum(v for k, v in out.items() if k != "machine"), 2)
    return out


def role(name: str) -> str:
    return name.rstrip("0123456789")  # gateway2 → gateway: replicas add up per role

