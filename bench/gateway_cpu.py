"""The gateway's own CPU per Telegram turn, with Rasa and the Bot API faked (issue 18).

    .venv-gateway/bin/python -m bench.gateway_cpu [--turns 1000] [--chats 50] [--replies 2]
        [--store sqlite|postgresql] [--rounds 3] [--before PATH] [--profile FILE]   (from the repository root)

A gateway process (`python -m bot`) answers Telegram webhook updates; Rasa and the Bot API are
faked in this process and answer at once (every message gets `--replies` replies), `--chats`
chats write at once, each sending its next message when the replies of the last are in, until
`--turns` turns are answered. Printed: the gateway's CPU ms per turn (from /proc), turns/s and its
resident memory, per round and the median. With `--before PATH` the gateway of another checkout
(`git archive <commit> | tar -x -C PATH`) is measured alternately with this tree's, round by
round; `--profile FILE` records this tree's gateway with py-spy during the last round (collapsed
stacks, for a flame graph or `bench/pipelines`-style reading). What the gateway spends here is
what it spends in the load bench (`bench/load`) minus the waits on a real Rasa.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Optional

import aiohttp

from motcua import PROJECT_ROOT

from bench.load.cpu import cpu_seconds, rss_mib
from tests.support import fake_rasa, fake_telegram
from tests.support.databases import pg_database
from tests.support.fake_telegram import TOKEN, WEBHOOK_SECRET, text_update
from tests.support.processes import GATEWAY_PYTHON, Process, free_port


async def gateway_cost(tree: Path, database_url: str, chats: int, turns: int, replies: int,
                       profile: Optional[Path] = None) -> dict:
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
        spy = None
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
                if profile is not None:
                    spy = Process("py-spy", [shutil.which("py-spy") or "py-spy", "record", "-p", str(gateway.pid),
                                             "-r", "197", "--gil", "--nonblocking", "-f", "raw", "-o", str(profile)],
                                  dict(os.environ)).start()
                    await asyncio.sleep(1)
                cpu0, wall0 = cpu_seconds(gateway.pid), time.perf_counter()
                await asyncio.gather(*(chat(9_100_000 + c, turns // chats) for c in range(chats)))
                cpu, wall = cpu_seconds(gateway.pid) - cpu0, time.perf_counter() - wall0
                rss = rss_mib(gateway.pid)
        finally:
            if spy is not None:
                spy.stop(grace=30, sig=signal.SIGINT)
            gateway.stop()
    done = (turns // chats) * chats
    return {"cpu_ms_per_turn": 1000 * cpu / done, "turns_per_s": done / wall, "rss_mib": rss}


async def store_url(kind: str, stack: list) -> str:
    """A fresh store of that kind (a PostgreSQL database is dropped when `stack` is unwound)."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/store.db"
    holder = pg_database()
    stack.append(holder)
    return await holder.__aenter__()


async def measure(trees: list[tuple[str, Path]], store: str, rounds: int, chats: int, turns: int, replies: int,
                  profile: Optional[Path] = None) -> dict[str, list[dict]]:
    """Each tree's gateway, alternately, `rounds` times; the first tree profiled in the last round."""
    results: dict[str, list[dict]] = {name: [] for name, _ in trees}
    for round_ in range(rounds):
        for i, (name, tree) in enumerate(trees):
            stack: list = []
            try:
                url = await store_url(store, stack)
                spy = profile if (i == 0 and round_ == rounds - 1) else None
                results[name].append(await gateway_cost(tree, url, chats, turns, replies, spy))
            finally:
                for holder in stack:
                    await holder.__aexit__(None, None, None)
    return results


def print_table(results: dict[str, list[dict]]) -> dict[str, float]:
    print("| gateway | CPU ms per turn (each round) | median | turns/s (median) | RSS MiB (median) |\n|---|---|---|---|---|")
    medians = {}
    for name, rows in results.items():
        cpu = [r["cpu_ms_per_turn"] for r in rows]
        medians[name] = statistics.median(cpu)
        print(f"| {name} | {', '.join(f'{c:.2f}' for c in cpu)} | {medians[name]:.2f} | "
              f"{statistics.median(r['turns_per_s'] for r in rows):.1f} | "
              f"{statistics.median(r['rss_mib'] for r in rows):.0f} |")
    return medians


def add_arguments(ap: argparse.ArgumentParser, turns: int, chats: int, replies: int, rounds: int) -> None:
    """The options of a gateway measurement (this bench's and bench/sent_once.py's)."""
    ap.add_argument("--turns", type=int, default=turns)
    ap.add_argument("--chats", type=int, default=chats)
    ap.add_argument("--replies", type=int, default=replies)
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--before", type=Path, help="a checkout whose gateway to measure as well")
    ap.add_argument("--rounds", type=int, default=rounds)


def trees_of(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """This tree, and the --before checkout if given: (name, path)."""
    trees: list[tuple[str, Path]] = [("this tree", PROJECT_ROOT)]
    if args.before is not None:
        trees.append((f"before ({args.before})", args.before.resolve()))
    return trees


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(ap, turns=1000, chats=50, replies=2, rounds=3)
    ap.add_argument("--profile", type=Path, help="py-spy record this tree's gateway in the last round to this file")
    args = ap.parse_args()
    trees = trees_of(args)
    results = await measure(trees, args.store, args.rounds, args.chats, args.turns, args.replies, args.profile)
    print(f"Gateway, {args.chats} chats at once, {args.turns} Telegram turns of {args.replies} replies each, "
          f"store {args.store} (`python -m bench.gateway_cpu`):")
    medians = print_table(results)
    if args.before is not None:
        print(f"\nDifference: {medians['this tree'] - medians[trees[1][0]]:+.2f} ms of gateway CPU per turn")
    if args.profile is not None:
        print(f"py-spy profile of this tree's gateway (last round): {args.profile}")


if __name__ == "__main__":
    asyncio.run(main())
