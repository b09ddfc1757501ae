"""Playing the citizens: calibration (how many replies each step gets), then each concurrency
level, with its latency, errors, wrong answers and CPU per turn; progress lines meanwhile."""
from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections import defaultdict
from typing import Any, Callable, Optional

from bench.load.common import loadavg, pct, say
from bench.load.cpu import cpu_delta, cpu_sample, pg_backends, rss_mib
from bench.load.profiling import Profiler
from bench.load.scripts import Ctx, Script, resolve
from bench.load.systems import OurSystem


class Progress:
    def __init__(self) -> None:
        self.label = ""
        self.target = 0
        self.done = 0
        self.errors = 0
        self.started = time.monotonic()

    def reset(self, label: str, target: int) -> None:
        self.label, self.target, self.done, self.errors, self.started = label, target, 0, 0, time.monotonic()

    async def run(self, every: float = 5.0) -> None:
        while True:
            await asyncio.sleep(every)
            if self.label:
                say(f"{self.label}: {self.done}/{self.target} turns, {self.errors} errors, "
                    f"{time.monotonic() - self.started:.0f} s in this level")


PROGRESS = Progress()


# --- playing -----------------------------------------------------------------------------------

async def calibrate(system: OurSystem, scripts: list[Script], quiet: float, rounds: int = 3) -> dict:
    """Each script `rounds` times (other wordings), each in its own chat, all at once: replies per
    step (the same each time, or it is reported), and the steps' checks."""
    report: dict[str, list] = {}

    async def one(script: Script, k: int) -> None:
        # Round r starts on gateway r (mod their number): each step is counted through each gateway.
        ctx = Ctx(rng=random.Random(k), chat=system.new_chat(), first=k // len(scripts))
        if script.setup:
            script.setup(ctx)
        rows = []
        i = 0
        while (step := script.step(ctx, i)) is not None:
            key = i if step.key is None else step.key
            said = f"[{step.press}]" if step.press else resolve(step.say, ctx)
            if not step.press:  # the same text for the turn and the report
                step = dataclasses.replace(step, say=said)
            t = await system.turn(script, step, key, ctx, quiet=quiet)
            rows.append({"step": str(key), "sent": said, "replies": t.replies, "ok": t.ok and not t.wrong,
                         "expect": resolve(step.expect, ctx), "last_reply": t.last_text[:90], "error": t.error})
            if not t.ok:
                break
            i += 1
        if ctx.vars.get("stuck"):
            rows.append({"step": "end", "ok": False, "replies": 0, "sent": "", "expect": "a known question",
                         "last_reply": ctx.vars["stuck"], "error": "the script did not know what to answer"})
        if k < len(scripts):
            report[script.name] = rows
        else:
            report[script.name] += [r for r in rows if not r["ok"]]

    await asyncio.gather(*(one(s, k) for k, s in enumerate(scripts)))
    await asyncio.gather(*(one(s, len(scripts) * r + k) for r in range(1, rounds) for k, s in enumerate(scripts)))
    return report


async def run_level(system, scripts: list[Script], chats: int, turns_per_chat: int, label: str,
                    pids: dict[str, int], seed: int, services: Optional[Callable[[], dict[str, list[int]]]] = None,
                    pg_dbs: tuple[str, ...] = ()) -> dict:
    weights = [s.weight for s in scripts]
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    wrong: list[str] = []
    finished_chats: dict[Any, int] = {}  # chat → replies expected in it (chats that ended cleanly)
    PROGRESS.reset(label, chats * turns_per_chat)

    async def citizen(k: int) -> None:
        rng = random.Random(seed * 100_003 + k)
        if chats > 1:
            await asyncio.sleep(rng.uniform(0, 0.3))
        done = 0
        conversations = 0
        while done < turns_per_chat:
            # One script, one conversation, in a fresh chat (whose first update goes to the next
            # gateway in turn, so the gateways share the first turns too).
            ctx = Ctx(rng=rng, chat=system.new_chat(), first=k + conversations)
            conversations += 1
            script = rng.choices(scripts, weights)[0]
            if script.setup:
                script.setup(ctx)
            expected = 0
            i = 0
            while done < turns_per_chat and (step := script.step(ctx, i)) is not None:
                t = await system.turn(script, step, i if step.key is None else step.key, ctx)
                done += 1
                PROGRESS.done += 1
                if not t.ok:
                    PROGRESS.errors += 1
                    errors.append(f"{script.name} step {i}: {t.error}")
                    break
                expected += t.replies
                latencies.append(t.latency)
                by_kind[script.kind].append(t.latency)
                if t.wrong:
                    wrong.append(f"{script.name} step {i}: {t.last_text[:120]}")
                i += 1
            else:
                finished_chats[ctx.chat] = expected
            if ctx.vars.get("stuck"):
                wrong.append(f"{script.name}: stuck at {ctx.vars['stuck']}")

    peak = [0, 0]

    async def watch_pg() -> None:
        # Every process's pool adds connections under load; past the server's max_connections
        # they are refused ("too many clients"), which shows as errors and "busy" replies.
        while True:
            peak[:] = [max(a, b) for a, b in zip(peak, await asyncio.to_thread(pg_backends, pg_dbs))]
            await asyncio.sleep(0.5)

    watcher = asyncio.ensure_future(watch_pg()) if pg_dbs else None
    cpu0 = cpu_sample(pids, services)
    posts0 = list(getattr(system, "posts", ()))
    load0 = loadavg()
    t0 = time.perf_counter()
    await asyncio.gather(*(citizen(k) for k in range(chats)))
    wall = time.perf_counter() - t0
    cpu = cpu_delta(cpu0, cpu_sample(pids, services))
    if watcher:
        watcher.cancel()
    PROGRESS.label = ""
    await asyncio.sleep(1.0)  # late replies would show up as extra
    extra = system.extra_replies(finished_chats)
    n = len(latencies)
    row = {"chats": chats, "turns": n, "wall_s": round(wall, 2), "turns_per_s": round(n / wall, 1) if wall else 0,
           "p50_ms": pct(latencies, 50), "p95_ms": pct(latencies, 95), "p99_ms": pct(latencies, 99),
           "max_ms": pct(latencies, 100), "errors": len(errors), "wrong": len(wrong), "extra_replies": extra,
           "by_kind": {k: {"turns": len(v), "p50_ms": pct(v, 50), "p95_ms": pct(v, 95)} for k, v in sorted(by_kind.items())},
           "cpu_s": cpu, "cpu_ms_per_turn": {k: round(v * 1000 / max(n, 1), 2) for k, v in cpu.items()},
           "rss_mib": {name: round(rss_mib(pid), 1) for name, pid in pids.items()},
           "loadavg_before": load0, "loadavg_after": loadavg(), "error_samples": errors[:5], "wrong_samples": wrong[:5]}
    if len(posts0) > 1:  # the load balancer's split, this level
        row["posts_per_gateway"] = [b - a for a, b in zip(posts0, system.posts)]
    if pg_dbs:
        row["pg_connections_peak"] = {"ours": peak[0], "server": peak[1]}
    say(f"{label}: {n} turns in {wall:.1f} s = {row['turns_per_s']} turns/s, p50 {row['p50_ms']} / p95 "
        f"{row['p95_ms']} / p99 {row['p99_ms']} ms, errors {len(errors)}, wrong {len(wrong)}, extra {extra}; "
        f"CPU ms/turn {row['cpu_ms_per_turn']}"
        + (f"; PostgreSQL connections at most {peak[0]} ours, {peak[1]} on the server" if pg_dbs else ""))
    return row


async def play_system(system, scripts, levels, args, pids_fn, label: str, profiler: Optional[Profiler], stamp: str,
                      services: Optional[Callable[[], dict[str, list[int]]]] = None, pg_dbs: tuple[str, ...] = ()) -> list:
    rows = []
    for k, chats in enumerate(levels):
        per_chat = max(args.turns_per_chat, -(-args.min_turns // chats))
        if profiler and chats == profiler.level:
            profiler.start(pids_fn(), stamp)
        row = await run_level(system, scripts, chats, per_chat, f"{label}, {chats} chats", pids_fn(), seed=k + 1,
                              services=services, pg_dbs=pg_dbs)
        if profiler and chats == profiler.level:
            row["profile"] = profiler.stop()
        rows.append(row)
    return rows



async def soak(system, scripts, chats: int, minutes: float, pids_fn, services=None) -> dict:
    """`chats` citizens for `minutes`, played as rounds of about a minute each (run_level, so each
    round's errors and latency count); the resident memory of every process after each round:
    whether it grows while the load stays the same."""
    started = time.perf_counter()
    per_chat = 10
    samples, latencies_p95, turns, errors = [], [], 0, 0
    rnd = 0
    while time.perf_counter() - started < minutes * 60:
        rnd += 1
        row = await run_level(system, scripts, chats, per_chat, f"soak, round {rnd}", pids_fn(), seed=10_000 + rnd,
                              services=services)
        turns += row["turns"]
        errors += row["errors"]
        latencies_p95.append(row["p95_ms"] or 0)
        samples.append({"minute": round((time.perf_counter() - started) / 60, 1), "turns": turns,
                        "turns_per_s": row["turns_per_s"], "rss_mib": row["rss_mib"]})
        # The next round about a minute long, at the throughput just seen.
        per_chat = max(2, int(60 * row["turns_per_s"] / chats))
    wall = time.perf_counter() - started
    out = {"chats": chats, "minutes": minutes, "turns": turns, "errors": errors,
           "turns_per_s": round(turns / wall, 1),
           "p95_ms": max(latencies_p95) if latencies_p95 else None,  # the worst round's
           "samples": samples}
    at_two = next((s for s in samples if s["minute"] >= 2), None)
    if at_two is not None and samples[-1] is not at_two:
        out["growth_from_minute_2"] = {
            name: round(100 * (samples[-1]["rss_mib"].get(name, 0) - mib) / mib, 1)
            for name, mib in at_two["rss_mib"].items() if mib and name != "bench"}
    return out
