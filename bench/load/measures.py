"""The figures besides the levels: NLU parse latency over Rasa's HTTP API, complaint writes per
second (PostgreSQL and SQLite), the dossier lookup at 1,000,000 rows (bench/dossiers.py), and
PostgreSQL's connection limit."""
from __future__ import annotations

import asyncio
import json
import random
import re
import tempfile
import time
from typing import Optional

import aiohttp
import asyncpg

from motcua.catalogue import load_catalogue
from motcua.store import Database
from motcua.store.complaints import file_complaint

from bench.load.common import RESULTS, ROOT, pct, say
from bench.load.scripts import COMPLAINTS, NAMES, PLACES
from tests.support.databases import PG_ADMIN_DSN, pg_database


def heldout_texts(limit: int = 300) -> list[str]:
    texts = []
    for path in sorted((ROOT / "nlu" / "data" / "test").glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            s = line.strip()
            if s.startswith("- ") and not s.startswith("- intent:"):
                t = re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", s[2:])
                texts.append(t)
    random.Random(3).shuffle(texts)
    return texts[:limit]


async def parse_latency(http: aiohttp.ClientSession, base: str, texts: list[str], token: Optional[str]) -> dict:
    params = {"token": token} if token else {}
    for t in [f"xin chào {i}" for i in range(10)]:  # warm-up (texts measured below are each parsed once)
        async with http.post(f"{base}/model/parse", json={"text": t}, params=params) as r:
            await r.read()
    lat = []
    for t in texts:
        t0 = time.perf_counter()
        async with http.post(f"{base}/model/parse", json={"text": t}, params=params) as r:
            assert r.status == 200, await r.text()
            await r.read()
        lat.append(time.perf_counter() - t0)
    return {"n": len(lat), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "p99_ms": pct(lat, 99)}


async def complaint_writes(url: str, concurrency: int, total: int) -> dict:
    locality = load_catalogue().locality
    cats = [c["id"] for c in locality.complaint_categories]
    db = Database(url)
    await db.migrate()
    tickets: list[str] = []
    lat: list[float] = []
    errors = 0

    async def worker(k: int) -> None:
        nonlocal errors
        rng = random.Random(k)
        for j in range(k, total, concurrency):
            t0 = time.perf_counter()
            try:
                async with db.session() as s, s.begin():
                    c = await file_complaint(s, locality, sender_id=f"telegram:{k}", content=rng.choice(COMPLAINTS),
                                             category=rng.choice(cats), place=rng.choice(PLACES),
                                             name=rng.choice(NAMES), phone="0905123456")
                tickets.append(c.ticket)
                lat.append(time.perf_counter() - t0)
            except Exception:  # noqa: BLE001
                errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    wall = time.perf_counter() - t0
    await db.dispose()
    return {"concurrency": concurrency, "complaints": len(tickets), "writes_per_s": round(len(tickets) / wall, 1),
            "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "errors": errors,
            "unique_tickets": len(set(tickets)) == len(tickets)}


async def complaint_write_bench(total: int) -> dict:
    out: dict[str, list] = {"postgresql": [], "sqlite": []}
    for conc in (1, 10, 50):
        async with pg_database("motcua_load_complaints") as url:
            out["postgresql"].append(await complaint_writes(url, conc, total if conc > 1 else total // 4))
        with tempfile.TemporaryDirectory() as tmp:
            out["sqlite"].append(await complaint_writes(f"sqlite+aiosqlite:///{tmp}/c.db", conc,
                                                        total if conc > 1 else total // 4))
        say(f"complaint writes, {conc} concurrent: PostgreSQL {out['postgresql'][-1]['writes_per_s']}/s "
            f"(p95 {out['postgresql'][-1]['p95_ms']} ms), SQLite {out['sqlite'][-1]['writes_per_s']}/s")
    return out


def dossier_lookup_figures() -> dict:
    path = RESULTS / "dossiers.json"
    if path.exists():
        data = json.loads(path.read_text())
        return {"source": str(path.relative_to(ROOT)), **{k: {"rows": v.get("rows"), "lookup_p50_ms": v.get("lookup_p50_ms"),
                                                              "lookup_p95_ms": v.get("lookup_p95_ms")}
                                                          for k, v in data.items()}}
    return {"source": "README measurements (bench/dossiers.py, 1,000,000 rows; not rerun)",
            "sqlite": {"rows": 1_000_000, "lookup_p50_ms": 5.2, "lookup_p95_ms": 8.5},
            "postgresql": {"rows": 1_000_000, "lookup_p50_ms": 1.5, "lookup_p95_ms": 2.4}}



async def pg_max_connections() -> int:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return int(await conn.fetchval("SHOW max_connections"))
    finally:
        await conn.close()
