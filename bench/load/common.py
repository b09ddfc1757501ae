"""What every part of the load bench shares: where results go, the bot's Telegram credentials at
the fake Bot API, progress lines, percentiles."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from motcua import PROJECT_ROOT

ROOT = PROJECT_ROOT
RESULTS = ROOT / "bench" / "results"
BASELINE_CACHE = RESULTS / "baseline-rasa-init"
TOKEN = "123456:BENCH-token"
SECRET = "bench-webhook-secret"
T0 = time.monotonic()


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def pct(values: list[float], p: float) -> Optional[float]:
    """Nearest-rank percentile (p in 0..100) in milliseconds, of latencies in seconds."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return round(s[k] * 1000, 1)


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
