"""Cold start and web-chat turn latency of the whole bot, started as `motcua run` would.

    .venv/bin/python -m bench.turn_latency [--turns 200] [--chats 10]     (from the repository root)

Starts `motcua run` on free ports (training first if needed), measures the time until
/healthz answers 200, then plays web-chat turns (greetings, procedure questions, follow-ups,
office hours) one at a time and with several chats at once, and prints p50/p95 and throughput.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid

import aiohttp

from motcua import PROJECT_ROOT
from motcua.settings import Settings
from motcua.training import ensure_model, model_path

from tests.support.processes import NotReady, Process, free_port

TURNS = ["xin chào", "làm sổ đỏ cần giấy tờ gì", "còn lệ phí thì sao", "mat bao lau",
         "dang ky khai sinh nop o dau", "giờ làm việc", "thủ tục kết hôn", "bn ngày thì xong",
         "cảm ơn", "lý lịch tư pháp làm online được không"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def play(base: str, chats: int, turns: int) -> dict:
    latencies: list[float] = []
    senders = [str(uuid.uuid4()) for _ in range(chats)]  # the web chat takes random UUIDs only

    async def chat(i: int, http: aiohttp.ClientSession) -> None:
        for k in range(turns // chats):
            t0 = time.perf_counter()
            async with http.post(f"{base}/webchat/messages",
                                 json={"sender": senders[i], "message": TURNS[k % len(TURNS)]}) as r:
                assert r.status == 200 and await r.json()
            latencies.append(time.perf_counter() - t0)

    async with aiohttp.ClientSession() as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(chat(i, http) for i in range(chats)))
        wall = time.perf_counter() - t0
    return {"chats": chats, "turns": len(latencies), "p50_ms": 1000 * pct(latencies, 0.5),
            "p95_ms": 1000 * pct(latencies, 0.95), "turns_per_s": len(latencies) / wall}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--chats", type=int, default=10)
    args = ap.parse_args()

    models = Settings.from_env().models_dir
    trained = model_path(models).exists()
    t0 = time.monotonic()
    ensure_model(models)
    train_s = None if trained else time.monotonic() - t0

    port, rasa, actions = free_port(), free_port(), free_port()
    tmp = tempfile.mkdtemp()
    # Every simulated citizen posts from 127.0.0.1: the per-address limit would measure itself.
    env = {**os.environ, "WEBCHAT_RATE_PER_MINUTE": "0", "PORT": str(port), "RASA_URL": f"http://127.0.0.1:{rasa}",
           "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions}/webhook",
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db"}
    run = Process("motcua run", [sys.executable, "-m", "motcua.cli", "run"], env, url=f"http://127.0.0.1:{port}")
    try:
        try:
            cold = await run.start().ready("/healthz", 600)
        except NotReady as exc:
            raise SystemExit(f"motcua run was not ready: {exc}")
        await play(run.url, 1, 10)  # warm-up
        rows = [await play(run.url, 1, args.turns), await play(run.url, args.chats, args.turns)]
    finally:
        run.stop(grace=60)
    result = {"training_s": train_s, "cold_start_s": cold, "runs": rows}
    print(f"training: {'cached model' if train_s is None else f'{train_s:.1f} s'}; cold start to /healthz 200: {cold:.1f} s")
    print("| chats | turns | p50 ms | p95 ms | turns/s |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['chats']} | {r['turns']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['turns_per_s']:.1f} |")
    out = PROJECT_ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "turn_latency.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
