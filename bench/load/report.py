"""The results as the bench prints them (header, latency table, CPU table, the other figures) and
as a plot (bench/results/load.png)."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bench.load.common import RESULTS, ROOT, T0
from bench.load.cpu import role


def fmt(v: Any) -> str:
    return "–" if v is None else (f"{v:,.1f}" if isinstance(v, float) else str(v))


def table(result: dict) -> str:
    lines = ["| chats | system | turns | turns/s | p50 ms | p95 ms | p99 ms | errors | wrong | turns/s ours ÷ baseline "
             "| p95 baseline ÷ ours |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    base = {r["chats"]: r for r in result.get("baseline", {}).get("levels", [])}
    for r in result["ours"]["levels"]:
        b = base.get(r["chats"])
        ratio_t = round(r["turns_per_s"] / b["turns_per_s"], 2) if b and b["turns_per_s"] else None
        ratio_p = round(b["p95_ms"] / r["p95_ms"], 2) if b and b["p95_ms"] and r["p95_ms"] else None
        lines.append(f"| {r['chats']} | ours | {r['turns']} | {fmt(r['turns_per_s'])} | {fmt(r['p50_ms'])} | "
                     f"{fmt(r['p95_ms'])} | {fmt(r['p99_ms'])} | {r['errors']} | {r['wrong']} | "
                     f"{fmt(ratio_t) + '×' if ratio_t else '–'} | {fmt(ratio_p) + '×' if ratio_p else '–'} |")
        if b:
            lines.append(f"| {b['chats']} | baseline | {b['turns']} | {fmt(b['turns_per_s'])} | {fmt(b['p50_ms'])} | "
                         f"{fmt(b['p95_ms'])} | {fmt(b['p99_ms'])} | {b['errors']} | – | | |")
    return "\n".join(lines)


CPU_ROLES = ["bench", "gateway", "rasa", "actions", "bot", "postgresql", "redis", "other", "machine"]
# The bot's own processes: "bot" in the tables is their sum (the store's server is beside it).
BOT_ROLES = ("gateway", "rasa", "actions")


def with_bot(figures: dict[str, float]) -> dict[str, float]:
    """A level's per-process figures with the whole bot's sum added as "bot"."""
    parts = [float(v) for n, v in figures.items() if role(n) in BOT_ROLES]
    return {**figures, "bot": round(sum(parts), 2)} if parts else dict(figures)


def cpu_table(result: dict, field: str = "cpu_ms_per_turn") -> str:
    """CPU ms per turn (or, with field="rss_mib", resident MiB after the level) at each level, per
    role, and the whole bot's; replicas add up (each one's in parentheses)."""
    rows = sorted(((key, r) for key in ("ours", "baseline") for r in result.get(key, {}).get("levels", [])
                   if field in r), key=lambda kr: (kr[1]["chats"], kr[0] != "ours"))
    seen = {role(n) for _, r in rows for n in with_bot(r[field])}
    roles = [x for x in CPU_ROLES if x in seen] + sorted(seen - set(CPU_ROLES))
    pg = field == "cpu_ms_per_turn" and any("pg_connections_peak" in r for _, r in rows)
    lines = ["| chats | system | " + " | ".join(roles) + " | load avg before |"
             + (" PostgreSQL connections, peak: ours / server "
                f"(max {result['machine'].get('pg_max_connections')}) |" if pg else ""),
             "|---|---|" + "---|" * len(roles) + "---|" + ("---|" if pg else "")]
    for key, r in rows:
        cells = []
        for x in roles:
            parts = [float(v) for n, v in with_bot(r[field]).items() if role(n) == x]
            if len(parts) > 1:
                cells.append(f"{fmt(sum(parts))} ({' + '.join(fmt(v) for v in parts)})")
            else:
                cells.append(fmt(parts[0]) if parts else "–")
        c = r.get("pg_connections_peak")
        lines.append(f"| {r['chats']} | {key} | " + " | ".join(cells) + f" | {r['loadavg_before'][0]} |"
                     + ((f" {c['ours']} / {c['server']} |" if c else " – |") if pg else ""))
    return "\n".join(lines)


def soak_table(soak: dict) -> str:
    """Resident memory minute by minute during the soak, and each process's growth from minute 2."""
    names = list(soak["samples"][0]["rss_mib"])
    lines = [f"Soak: {soak['chats']} chats for {soak['minutes']} min, {soak['turns']} turns "
             f"({soak['turns_per_s']} turns/s, the worst round's p95 {soak['p95_ms']} ms, {soak['errors']} errors); "
             "resident MiB:", "",
             "| minute | turns so far | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for sample in soak["samples"]:
        lines.append(f"| {sample['minute']} | {sample['turns']} | "
                     + " | ".join(fmt(sample["rss_mib"].get(n)) for n in names) + " |")
    growth = soak.get("growth_from_minute_2")
    if growth:
        lines.append("")
        lines.append("growth from minute 2 to the end: " + ", ".join(f"{n} {v:+.1f} %" for n, v in growth.items()))
    return "\n".join(lines)


def header(result: dict) -> str:
    ours = result["ours"]
    shape = {"single": "`motcua run`: 1 gateway, 1 Rasa, 1 action server",
             "replicas": "`motcua serve`: 2 gateways (a chat's updates alternate), 2 Rasa (round robin "
                         "from each gateway), an action server per Rasa"}[ours["layout"]]
    stores = "SQL tracker store (PostgreSQL) and Redis locks" if ours["rasa_stores"] == "shared" else "in memory"
    m = result["machine"]
    return (f"ours: layout {ours['layout']} ({shape}); bot store and case database: {ours['store']}; "
            f"Rasa's trackers and locks: {stores}.\n"
            f"{m['cpus']} cores; load average {m['loadavg_start']} at the start, {m.get('loadavg_end')} at the end.")


def pg_warnings(result: dict) -> list[str]:
    """Levels during which PostgreSQL ran out of connections: their errors and "busy" replies
    (and the late answers counted as extra) are refused connections, not the bot's speed."""
    limit = result["machine"].get("pg_max_connections")
    out = []
    for r in result.get("ours", {}).get("levels", []):
        c = r.get("pg_connections_peak")
        if limit and c and c["server"] >= limit - 5:
            out.append(f"{r['chats']} chats: PostgreSQL had {c['server']} connections (max_connections {limit}, "
                       f"{c['ours']} of them ours): its {r['errors']} errors, {r['wrong']} wrong and "
                       f"{r['extra_replies']} extra replies may be refused connections (\"too many clients\" in its log)")
    return out


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label, style in (("ours", "Một Cửa Bot (Telegram webhook → reply)", "o-"),
                              ("baseline", "rasa init (REST)", "s--")):
        levels = result.get(key, {}).get("levels", [])
        if not levels:
            continue
        x = [r["chats"] for r in levels]
        ax1.plot(x, [r["p95_ms"] or float("nan") for r in levels], style, label=label)
        ax2.plot(x, [r["turns_per_s"] for r in levels], style, label=label)
    ax1.axhline(250, color="grey", lw=0.8, ls=":", label="target p95 ≤ 250 ms at 50")
    ax2.axhline(100, color="grey", lw=0.8, ls=":", label="target ≥ 100 turns/s at 50")
    for ax, title, ylabel in ((ax1, "p95 latency", "ms (log)"), (ax2, "throughput", "turns/s")):
        ax.set_xscale("log")
        ax.set_xlabel("concurrent chats")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax1.set_yscale("log")
    levels = sorted({r["chats"] for k in ("ours", "baseline") for r in result.get(k, {}).get("levels", [])})
    for ax in (ax1, ax2):
        ax.set_xticks(levels)
        ax.set_xticklabels([str(x) for x in levels])
        ax.minorticks_off()
    fig.suptitle(f"Load, {result['started']} ({os.cpu_count()} cores, layout: {result['ours'].get('layout', 'single')}, "
                 f"store: {result['ours'].get('store')})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)



def ratios(result: dict) -> list[dict]:
    """Per level: our throughput over the baseline's, the baseline's p95 over ours."""
    base = {r["chats"]: r for r in result["baseline"]["levels"]}
    return [{"chats": r["chats"],
             "throughput_ours_over_baseline": round(r["turns_per_s"] / base[r["chats"]]["turns_per_s"], 2)
             if base.get(r["chats"], {}).get("turns_per_s") else None,
             "p95_baseline_over_ours": round(base[r["chats"]]["p95_ms"] / r["p95_ms"], 2)
             if r["p95_ms"] and base.get(r["chats"], {}).get("p95_ms") else None}
            for r in result["ours"]["levels"]]


def print_summary(result: dict, out: Path) -> None:
    """What the bench prints at the end; `out` is the results file written."""
    print()
    print(header(result))
    print()
    print(table(result))
    print()
    print("CPU ms per turn (bench: load generator and fake Bot API; other: the machine's busy CPU less the "
          "processes listed)")
    print()
    print(cpu_table(result))
    print()
    print("Resident memory (MiB) of each process after the level (bot: gateway + Rasa + action server)")
    print()
    print(cpu_table(result, "rss_mib"))
    print()
    if result.get("soak"):
        print(soak_table(result["soak"]))
        print()
    for line in pg_warnings(result):
        print(f"WARNING {line}")
    np = result.get("nlu_parse", {})
    for k, v in np.items():
        print(f"NLU parse ({k}, /model/parse over HTTP): p50 {v['p50_ms']} ms, p95 {v['p95_ms']} ms")
    for db, rows in result.get("complaint_writes", {}).items():
        print(f"complaint writes ({db}): " + ", ".join(f"{r['concurrency']} sessions {r['writes_per_s']}/s "
                                                       f"(p95 {r['p95_ms']} ms)" for r in rows))
    d = result["dossier_lookup_1m"]
    print(f"dossier lookup at 1,000,000 rows ({d['source']}): SQLite p50 {d['sqlite']['lookup_p50_ms']} / p95 "
          f"{d['sqlite']['lookup_p95_ms']} ms; PostgreSQL p50 {d['postgresql']['lookup_p50_ms']} / p95 "
          f"{d['postgresql']['lookup_p95_ms']} ms")
    fifty = next((r for r in result["ours"]["levels"] if r["chats"] == 50), None)
    if fifty:
        met = fifty["turns_per_s"] >= 100 and (fifty["p95_ms"] or 1e9) <= 250 and not fifty["errors"]
        print(f"target at 50 chats (≥ 100 turns/s, p95 ≤ 250 ms): {'met' if met else 'NOT met'} "
              f"({fifty['turns_per_s']} turns/s, p95 {fifty['p95_ms']} ms)")
    print(f"\nresults: {out.relative_to(ROOT)}, plot: {(RESULTS / 'load.png').relative_to(ROOT)}; "
          f"total {time.monotonic() - T0:.0f} s")
