"""Case database at scale: CSV import rate and dossier lookup latency.

    .venv/bin/python -m bench.dossiers [--rows 1000000] [--lookups 2000] [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test]

(from the repository root; --pg defaults to the server MOTCUA_TEST_PG_DSN names, as the tests use).

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
import tempfile
import time
from pathlib import Path

from motcua import PROJECT_ROOT
from motcua.cases_import import import_csv
from motcua.store.case_source import CaseSource

from tests.support.databases import PG_ADMIN_DSN, create_pg_database, drop_pg_database, pg_url

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
    ap.add_argument("--pg", default=PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://", 1),
                    help="a database of the PostgreSQL server to measure on ('' skips PostgreSQL)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    export = tmp / "export.csv"
    codes = write_export(export, args.rows)
    results = {"sqlite": await measure(f"sqlite+aiosqlite:///{tmp / 'cases.db'}", export, codes, args.lookups)}
    print("sqlite", json.dumps(results["sqlite"]), flush=True)
    if args.pg:
        admin = args.pg.replace("+asyncpg", "")
        name = await create_pg_database("motcua_bench", admin)
        try:
            results["postgresql"] = await measure(pg_url(name, admin=admin), export, codes, args.lookups)
            print("postgresql", json.dumps(results["postgresql"]), flush=True)
        finally:
            await drop_pg_database(name, admin)
    print("\n| database | rows | import s | rows/min | lookup p50 ms | lookup p95 ms |\n|---|---|---|---|---|---|")
    for db, r in results.items():
        print(f"| {db} | {r['rows']:,} | {r['import_s']} | {r['rows_per_min']:,} | {r['lookup_p50_ms']} | {r['lookup_p95_ms']} |")
    out = PROJECT_ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "dossiers.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
