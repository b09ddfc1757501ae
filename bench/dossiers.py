"""Case database at scale: CSV import rate and dossier lookup latency.

    .venv/bin/python bench/dossiers.py [--rows 1000000] [--lookups 2000] [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Generates an export of N dossiers, imports it with `import_csv` (the code behind
`motcua cases import`) into a fresh SQLite file and a fresh PostgreSQL database, then times
random lookups by code through `CaseSource.get` (what the lookup action calls).
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from motcua.cases_import import import_csv  # noqa: E402
from motcua.store.case_source import CaseSource  # noqa: E402

STATUSES = ["received", "processing", "need_supplement", "payment_required", "done", "returned"]


def code(i: int) -> str:
    """Unique for i below 9,999,000: the agency part counts the blocks of 9,999 daily numbers."""
    return f"{i // 9999:03d}.00.24.H08-261101-{i % 9999 + 1:04d}"


def write_export(path: Path, rows: int) -> list[str]:
    codes = []
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "procedure_id", "applicant_name", "phone", "received_at", "due_at", "status", "agency", "note"])
        for i in range(rows):
            c = code(i)
            codes.append(c)
            w.writerow([c, "cap_so_do", f"Công dân {i}", f"09{i:08d}", "2026-11-01", "2026-11-20",
                        STATUSES[i % len(STATUSES)], "UBND xã", ""])
    return codes


async def measure(url: str, export: Path, codes: list[str], lookups: int) -> dict:
    t0 = time.perf_counter()
    report = await import_csv(export, url)
    import_s = time.perf_counter() - t0
    assert not report.errors, report.errors[:3]
    source = CaseSource(url)
    sample = random.Random(7).sample(codes, min(lookups, len(codes)))
    latencies = []
    for c in sample:
        t = time.perf_counter()
        assert await source.get(c) is not None
        latencies.append((time.perf_counter() - t) * 1000)
    await source.dispose()
    latencies.sort()
    return {"rows": report.rows, "unique_dossiers": report.inserted, "import_s": round(import_s, 1),
            "rows_per_min": round(report.rows / import_s * 60),
            "lookup_p50_ms": round(statistics.median(latencies), 2),
            "lookup_p95_ms": round(latencies[int(len(latencies) * 0.95)], 2)}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    export = tmp / "export.csv"
    codes = write_export(export, args.rows)
    results = {"sqlite": await measure(f"sqlite+aiosqlite:///{tmp / 'cases.db'}", export, codes, args.lookups)}
    print("sqlite", json.dumps(results["sqlite"]), flush=True)
    if args.pg:
        admin = args.pg.replace("+asyncpg", "")
        name = f"motcua_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        try:
            results["postgresql"] = await measure(args.pg.rsplit("/", 1)[0] + f"/{name}", export, codes, args.lookups)
            print("postgresql", json.dumps(results["postgresql"]), flush=True)
        finally:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()
    print("\n| database | rows | import s | rows/min | lookup p50 ms | lookup p95 ms |\n|---|---|---|---|---|---|")
    for db, r in results.items():
        print(f"| {db} | {r['rows']:,} | {r['import_s']} | {r['rows_per_min']:,} | {r['lookup_p50_ms']} | {r['lookup_p95_ms']} |")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "dossiers.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
