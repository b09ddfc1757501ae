"""Booking under contention: how long a booking takes, and how many per second the store commits,
when many citizens book the same counter's slots at once — and that no seat is ever given twice.

    .venv-gateway/bin/python -m bench.appointments [--citizens 400] [--concurrency 50] [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test]

(from the repository root; --pg defaults to the server MOTCUA_TEST_PG_DSN names, as the tests use).

Each citizen books a random slot among the first day's (the counter of khai_sinh) through
`motcua.store.appointments.book` in its own transaction, `--concurrency` at once; a full slot is
refused and counted. After the run the seats each slot holds are counted against its capacity.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from motcua import PROJECT_ROOT
from motcua.appointments import Schedule
from motcua.catalogue import load_catalogue
from motcua.store import Database
from motcua.store.appointments import BookingRefused, Request, book
from motcua.store.models import Appointment

from tests.support.databases import PG_ADMIN_DSN, create_pg_database, drop_pg_database, pg_url


async def measure(url: str, citizens: int, concurrency: int) -> dict:
    db = Database(url)
    await db.migrate()
    schedule = Schedule.of(load_catalogue())
    now = datetime.now(timezone.utc)
    counter = schedule.counter_for("khai_sinh", "ho_tich")
    assert counter is not None
    day = schedule.bookable_days(now)[1]  # a whole day: tomorrow's working day or the next
    starts = schedule.bookable_starts(day, now)
    pick = random.Random(19)
    wanted = [pick.choice(starts) for _ in range(citizens)]
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    outcomes: Counter = Counter()

    async def one(i: int) -> None:
        async with gate:
            t = time.perf_counter()
            try:
                async with db.session() as session, session.begin():
                    await book(session, schedule, Request(
                        sender_id=f"web:bench{i}", procedure_id="khai_sinh", procedure_name="Đăng ký khai sinh",
                        counter_id=counter.id, starts_at=wanted[i], name=f"Công dân {i}", phone=f"09{i:08d}"), now=now)
                outcomes["booked"] += 1
            except BookingRefused as refused:
                outcomes[refused.reason] += 1
            latencies.append((time.perf_counter() - t) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(citizens)))
    elapsed = time.perf_counter() - t0
    async with db.session() as session:
        held = Counter((await session.scalars(select(Appointment.starts_at))).all())
    await db.dispose()
    latencies.sort()
    over = sum(1 for n in held.values() if n > counter.seats)
    return {"citizens": citizens, "concurrency": concurrency, "slots": len(starts), "seats": counter.seats,
            "booked": outcomes["booked"], "full": outcomes["full"], "slots_over_capacity": over,
            "per_second": round(citizens / elapsed, 1), "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95)], 1)}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--citizens", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--pg", default=PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://", 1),
                    help="a database of the PostgreSQL server to measure on ('' skips PostgreSQL)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    results = {"sqlite": await measure(f"sqlite+aiosqlite:///{tmp / 'store.db'}", args.citizens, args.concurrency)}
    print("sqlite", json.dumps(results["sqlite"]), flush=True)
    if args.pg:
        admin = args.pg.replace("+asyncpg", "")
        name = await create_pg_database("motcua_bench", admin)
        try:
            results["postgresql"] = await measure(pg_url(name, admin=admin), args.citizens, args.concurrency)
            print("postgresql", json.dumps(results["postgresql"]), flush=True)
        finally:
            await drop_pg_database(name, admin)
    print("\n| database | citizens | at once | slots × seats | booked | refused (full) | over capacity "
          "| bookings/s | p50 ms | p95 ms |\n|---|---|---|---|---|---|---|---|---|---|")
    for db, r in results.items():
        print(f"| {db} | {r['citizens']} | {r['concurrency']} | {r['slots']} × {r['seats']} | {r['booked']} | {r['full']} "
              f"| {r['slots_over_capacity']} | {r['per_second']} | {r['p50_ms']} | {r['p95_ms']} |")
    out = PROJECT_ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "appointments.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
