"""What "sent once" (issue 20) costs: one small write per reply the platform accepts.

    .venv-gateway/bin/python -m bench.sent_once [--writes 2000] [--turns 600] [--chats 10] [--replies 3]
        [--store sqlite|postgresql] [--before PATH] [--rounds 2]       (from the repository root)

1. The write alone: a receipt (UPDATE messages SET platform_ids, delivered_at WHERE id = …) in a
   transaction of its own, `--writes` times, on SQLite and on PostgreSQL (MOTCUA_TEST_PG_DSN's
   server): CPU and wall time per write, in this process (SQLAlchemy, the driver, aiosqlite's thread).
2. In the gateway: a gateway process (`python -m bot`) answering Telegram webhook updates, with
   Rasa and the Bot API faked in this process (every message gets `--replies` replies, the Bot API
   answers at once), `--chats` chats writing at once until `--turns` turns are answered: the
   gateway's CPU per turn (from /proc) and turns/s. With `--before PATH`, the same is measured
   alternately (`--rounds` times each) against the gateway of another checkout — e.g. the commit
   before the change: `git archive <commit> | tar -x -C PATH` — run from that tree.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Optional

import aiohttp

from motcua import PROJECT_ROOT
from motcua.store import Database
from motcua.store.conversations import record_message
from motcua.store.deliveries import Receipt, record

from bench.load.cpu import cpu_seconds
from tests.support import fake_rasa, fake_telegram
from tests.support.databases import pg_database
from tests.support.fake_telegram import TOKEN, WEBHOOK_SECRET, text_update
from tests.support.processes import GATEWAY_PYTHON, Process, free_port


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def write_cost(url: str, writes: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per receipt written in its own transaction."""
    db = Database(url)
    await db.migrate()
    try:
        async with db.session() as s, s.begin():
            ids = [await record_message(s, "telegram", "1", "out", "trả lời") for _ in range(writes)]
        for message_id in ids[:50]:  # warm: compiled statements, pool
            async with db.session() as s, s.begin():
                await record(s, [Receipt(message_id, ("1",), True)])
        cpu0, wall0 = own_cpu(), time.perf_counter()
        for message_id in ids:
            async with db.session() as s, s.begin():
                await record(s, [Receipt(message_id, ("1001",), True)])
        return 1e6 * (own_cpu() - cpu0) / writes, 1e6 * (time.perf_counter() - wall0) / writes
    finally:
        await db.dispose()


async def gateway_cost(tree: Path, database_url: str, chats: int, turns: int, replies: int) -> dict:
    """A gateway from `tree` answering `turns` turns of `chats` chats at once: its CPU per turn."""
    def answer(text: str) -> list[str]:
        return [f"{i}/{replies} {text}" for i in range(1, replies + 1)]

    async with fake_rasa.running(answer=answer) as rasa, fake_telegram.running(TOKEN) as tg:
        port = free_port()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORT": str(port), "DATABASE_URL": database_url,
               "CASE_DATABASE_URL": f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/cases.db", "RASA_URL": rasa.base_url,
               "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
               "TELEGRAM_WEBHOOK_URL": "https://bot.example.invalid/telegram/webhook",
               "TELEGRAM_API_BASE_URL": tg.base_url, "DOSSIER_WATCH_SECONDS": "0", "ESCALATION_CHECK_SECONDS": "0",
               "OUTBOX_SECONDS": "0", "OFFICIALS_FEED_SECONDS": "0", "PYTHONPATH": str(tree)}
        gateway = Process("gateway", [GATEWAY_PYTHON, "-m", "bot"], env, None, f"http://127.0.0.1:{port}", cwd=tree)
        await gateway.start().ready("/healthz", 120)
        ids = itertools.count(1)
        try:
            async with aiohttp.ClientSession() as http:
                async def chat(chat_id: int, count: int) -> None:
                    for n in range(count):
                        async with http.post(f"{gateway.url}/telegram/webhook",
                                             json=text_update(chat_id, f"câu hỏi {n}", update_id=next(ids)),
                                             headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}) as r:
                            assert r.status == 200
                        while len(tg.sent(chat_id)) < (n + 1) * replies:
                            await asyncio.sleep(0.002)

                await asyncio.gather(*(chat(9_000_000 + c, 3) for c in range(chats)))  # warm-up
                cpu0, wall0 = cpu_seconds(gateway.pid), time.perf_counter()
                await asyncio.gather(*(chat(9_100_000 + c, turns // chats) for c in range(chats)))
                cpu, wall = cpu_seconds(gateway.pid) - cpu0, time.perf_counter() - wall0
        finally:
            gateway.stop()
    done = (turns // chats) * chats
    return {"cpu_ms_per_turn": 1000 * cpu / done, "turns_per_s": done / wall}


async def store_url(kind: str, stack: list) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/store.db"
    holder = pg_database()
    stack.append(holder)
    return await holder.__aenter__()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--writes", type=int, default=2000)
    ap.add_argument("--turns", type=int, default=600)
    ap.add_argument("--chats", type=int, default=10)
    ap.add_argument("--replies", type=int, default=3)
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--before", type=Path, help="a checkout whose gateway to measure as well")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    print("One receipt in its own transaction (this process, CPU / wall µs per write):")
    with tempfile.TemporaryDirectory() as tmp:
        print("  SQLite      %.0f / %.0f" % await write_cost(f"sqlite+aiosqlite:///{tmp}/receipts.db", args.writes))
    async with pg_database() as url:
        print("  PostgreSQL  %.0f / %.0f" % await write_cost(url, args.writes))

    trees: list[tuple[str, Path]] = [("this tree", PROJECT_ROOT)]
    if args.before is not None:
        trees.append((f"before ({args.before})", args.before.resolve()))
    results: dict[str, list[dict]] = {name: [] for name, _ in trees}
    for _ in range(args.rounds):
        for name, tree in trees:
            stack: list = []
            try:
                url = await store_url(args.store, stack)
                results[name].append(await gateway_cost(tree, url, args.chats, args.turns, args.replies))
            finally:
                for holder in stack:
                    await holder.__aexit__(None, None, None)
    print(f"\nGateway, {args.chats} chats at once, {args.turns} Telegram turns of {args.replies} replies each, "
          f"store {args.store}:")
    print("| gateway | CPU ms per turn (each round) | median | turns/s (median) |\n|---|---|---|---|")
    medians: dict[str, Optional[float]] = {}
    for name, rows in results.items():
        cpu = [r["cpu_ms_per_turn"] for r in rows]
        medians[name] = statistics.median(cpu)
        print(f"| {name} | {', '.join(f'{c:.1f}' for c in cpu)} | {medians[name]:.1f} | "
              f"{statistics.median(r['turns_per_s'] for r in rows):.1f} |")
    if args.before is not None:
        now, before = medians["this tree"], medians[trees[1][0]]
        assert now is not None and before is not None
        print(f"\nDifference: {now - before:+.2f} ms of gateway CPU per turn "
              f"({(now - before) / max(args.replies - 1, 1):+.2f} ms per reply written on its own)")


if __name__ == "__main__":
    asyncio.run(main())
