"""What "sent once" (issue 20) costs: one small write per reply the platform accepts.

    .venv-gateway/bin/python -m bench.sent_once [--writes 2000] [--turns 600] [--chats 10] [--replies 3]
        [--store sqlite|postgresql] [--before PATH] [--rounds 2]       (from the repository root)

1. The write alone: a receipt (UPDATE messages SET platform_ids, delivered_at WHERE id = …),
   `--writes` times, on SQLite and on PostgreSQL (MOTCUA_TEST_PG_DSN's server), the way the gateway
   writes it (motcua/store/receipt_writer.py: SQLite from the event loop's thread, PostgreSQL on an
   autocommit connection) and in an ordinary transaction of the store (its fallback): CPU and wall
   time per write, in this process (SQLAlchemy, the driver, aiosqlite's thread).
2. In the gateway (`bench/gateway_cpu.py`): a gateway process (`python -m bot`) answering Telegram webhook updates, with
   Rasa and the Bot API faked in this process (every message gets `--replies` replies, the Bot API
   answers at once), `--chats` chats writing at once until `--turns` turns are answered: the
   gateway's CPU per turn (from /proc) and turns/s. With `--before PATH`, the same is measured
   alternately (`--rounds` times each) against the gateway of another checkout — e.g. the commit
   before the change: `git archive <commit> | tar -x -C PATH` — run from that tree.
"""
from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time

from motcua.store import Database
from motcua.store.conversations import record_message
from motcua.store.deliveries import Receipt, record
from motcua.store.receipt_writer import ReceiptWriter

from bench.gateway_cpu import add_arguments, measure, print_table, trees_of
from tests.support.databases import pg_database


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def write_cost(url: str, writes: int) -> dict[str, tuple[float, float]]:
    """(CPU µs, wall µs) per receipt: by the receipt writer, and in an ordinary transaction."""
    db = Database(url)
    await db.migrate()
    writer = ReceiptWriter(db)
    await writer.open()

    async def ordinary(receipt: Receipt) -> None:
        async with db.begin() as conn:
            await record(conn, [receipt])

    async def fast(receipt: Receipt) -> None:
        await writer.write([receipt])

    costs = {}
    try:
        async with db.session() as s, s.begin():
            ids = [await record_message(s, "telegram", "1", "out", "trả lời") for _ in range(writes)]
        for name, write in (("receipt writer", fast), ("ordinary transaction", ordinary)):
            for message_id in ids[:50]:  # warm: compiled statements, pool
                await write(Receipt(message_id, ("1",), True))
            cpu0, wall0 = own_cpu(), time.perf_counter()
            for message_id in ids:
                await write(Receipt(message_id, ("1001",), True))
            costs[name] = 1e6 * (own_cpu() - cpu0) / writes, 1e6 * (time.perf_counter() - wall0) / writes
        return costs
    finally:
        await writer.close()
        await db.dispose()


def print_costs(store: str, costs: dict[str, tuple[float, float]]) -> None:
    for way, (cpu, wall) in costs.items():
        print(f"  {store:<11} {way:<21} {cpu:5.0f} / {wall:5.0f}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--writes", type=int, default=2000)
    add_arguments(ap, turns=600, chats=10, replies=3, rounds=2)
    args = ap.parse_args()

    print("One receipt (this process, CPU / wall µs per write):")
    with tempfile.TemporaryDirectory() as tmp:
        print_costs("SQLite", await write_cost(f"sqlite+aiosqlite:///{tmp}/receipts.db", args.writes))
    async with pg_database() as url:
        print_costs("PostgreSQL", await write_cost(url, args.writes))

    trees = trees_of(args)
    results = await measure(trees, args.store, args.rounds, args.chats, args.turns, args.replies)
    print(f"\nGateway, {args.chats} chats at once, {args.turns} Telegram turns of {args.replies} replies each, "
          f"store {args.store}:")
    medians = print_table(results)
    if args.before is not None:
        now, before = medians["this tree"], medians[trees[1][0]]
        print(f"\nDifference: {now - before:+.2f} ms of gateway CPU per turn "
              f"({(now - before) / max(args.replies - 1, 1):+.2f} ms per reply written on its own)")


if __name__ == "__main__":
    asyncio.run(main())
