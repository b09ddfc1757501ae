"""How well the procedure search resolves real questions: the figures of bench/procedure_search.py
and the floors of tests/test_procedure_search.py.

A resolution set (tests/data/procedure_questions*.yml) lists questions under `commune` (one
commune-level procedure, by national code or hand-written id), `elsewhere` (a procedure done by
the province or a ministry), `unknown` (in no list) and optionally `ambiguous` (several variants fit).
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import yaml

from motcua.catalogue import Procedure, short_name
from motcua.procedure_search import ProcedureSearch

# What each outcome means for the citizen.
OUTCOMES = {
    "right": "answered with the right procedure (or routed to the right place)",
    "asked": "asked with buttons, the right one among them",
    "honest": "said plainly it is not in the catalogue (portal, hotline, a person)",
    "wrong": "answered or routed with another procedure, or buttons without the right one",
    "missed": "said it is not in the catalogue although it is",
}


def load(path: Path) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def _keys(target) -> set[str]:
    if isinstance(target, Procedure):
        return {target.id, target.code}
    return {target.code}


def _same(target, code: str, search: ProcedureSearch) -> bool:
    """The target is the expected procedure, or the same procedure listed at another level."""
    if code in _keys(target):
        return True
    expected = search.catalogue.get(code) or search.catalogue.index.get(code)
    return expected is not None and short_name(expected.name).lower() == short_name(target.name).lower()


def outcome(search: ProcedureSearch, text: str, code: str | None) -> str:
    found = search.resolve(text)
    if code is None:
        return "honest" if found.kind == "none" else "wrong"
    if found.kind == "none":
        return "missed"
    if found.kind in ("procedure", "elsewhere"):
        return "right" if _same(found.procedure or found.entry, code, search) else "wrong"
    return "asked" if any(_same(o, code, search) for o in found.options) else "wrong"


def evaluate(search: ProcedureSearch, data: dict) -> dict[str, dict]:
    """Per section: counts of each outcome, and the latency of resolve() in ms (p50, p95)."""
    report = {}
    for section in ("commune", "elsewhere", "unknown", "ambiguous"):
        rows = data.get(section) or []
        if not rows:
            continue
        counts: Counter[str] = Counter()
        times: list[float] = []
        for row in rows:
            codes = row.get("codes") or [row.get("code")]
            t0 = time.perf_counter()
            results = [outcome(search, row["text"], c) for c in codes]
            times.append((time.perf_counter() - t0) * 1000 / len(codes))
            # Ambiguous questions are right when the answer asks, offering every variant that fits.
            if section == "ambiguous":
                counts["asked" if all(r == "asked" for r in results) else "wrong"] += 1
            else:
                counts[results[0]] += 1
        times.sort()
        report[section] = {"n": len(rows), **counts,
                           "p50_ms": times[len(times) // 2], "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95))]}
    return report


def format_report(name: str, report: dict[str, dict]) -> str:
    lines = [f"{name}:"]
    for section, r in report.items():
        parts = ", ".join(f"{k} {r[k]} ({r[k] / r['n']:.0%})" for k in OUTCOMES if r.get(k))
        lines.append(f"  {section:<10} n={r['n']:<4} {parts}; resolve p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms")
    return "\n".join(lines)
