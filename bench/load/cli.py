"""The command line and the run: the fake Bot API, ours (calibrated, warmed up, each level), the
baseline, the other figures, then the results written and printed."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import time
from typing import Any

import aiohttp
from aiohttp import web

import bench.load
from bench.load.baseline import BaselineStack
from bench.load.common import RESULTS, TOKEN, loadavg, say
from bench.load.measures import complaint_write_bench, dossier_lookup_figures, heldout_texts, parse_latency, pg_max_connections
from bench.load.play import PROGRESS, calibrate, play_system, run_level, soak
from bench.load.profiling import Profiler
from bench.load.report import plot, print_summary, ratios
from bench.load.scripts import baseline_scripts, our_scripts
from bench.load.stacks import OurStack
from bench.load.systems import BaselineSystem, FakeBotAPI, OurSystem
from tests.support.processes import free_port


async def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=(bench.load.__doc__ or "").split("\n\n")[0])
    ap.add_argument("--levels", default="1,10,50,200")
    ap.add_argument("--layout", choices=["single", "replicas"], default="single",
                    help="single: `motcua run`; replicas: 2 action servers, 2 Rasa, 2 gateways (`motcua serve`), "
                         "each chat's updates alternating between the gateways")
    ap.add_argument("--store", choices=["sqlite", "postgresql"],
                    help="our bot store and case database (temporary SQLite files or fresh PostgreSQL databases; "
                         "default sqlite, replicas: postgresql)")
    ap.add_argument("--rasa-stores", choices=["memory", "shared"],
                    help="Rasa's tracker and lock stores: in memory, or shared: SQL tracker store in a fresh "
                         "PostgreSQL database and Redis lock store (default memory, replicas: shared)")
    ap.add_argument("--turns-per-chat", type=int, default=8)
    ap.add_argument("--min-turns", type=int, default=100, help="at least this many turns per level")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds before a turn without its replies is an error")
    ap.add_argument("--quiet", type=float, default=1.5, help="calibration: seconds of silence that end a turn")
    ap.add_argument("--dossiers", type=int, default=5000, help="bench dossiers imported into our case database")
    ap.add_argument("--complaints", type=int, default=1000, help="complaints filed per write-rate run (0: skip)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--fresh-baseline", action="store_true", help="create and train a new rasa init assistant")
    ap.add_argument("--profile-level", type=int, help="py-spy record our processes during this level")
    ap.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment for our processes (`motcua run`, or each `motcua serve`; to compare settings)")
    ap.add_argument("--label", default="", help="a note stored with the results")
    ap.add_argument("--soak", type=float, default=0, metavar="MINUTES",
                    help="after the levels, --soak-chats chats for this long, resident memory minute by minute")
    ap.add_argument("--soak-chats", type=int, default=50)
    args = ap.parse_args()
    if args.layout == "replicas" and args.store == "sqlite":
        ap.error("--layout replicas needs --store postgresql: both gateways share the bot store")
    if args.layout == "replicas" and args.rasa_stores == "memory":
        ap.error("--layout replicas needs --rasa-stores shared: a turn may go to either Rasa server")
    args.store = args.store or ("postgresql" if args.layout == "replicas" else "sqlite")
    args.rasa_stores = args.rasa_stores or ("shared" if args.layout == "replicas" else "memory")
    levels = [int(x) for x in args.levels.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    result: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "label": args.label, "layout": args.layout,
                              "machine": {"cpus": os.cpu_count(), "loadavg_start": loadavg()},
                              "config": {k: v for k, v in vars(args).items()},
                              "method": "latency = POST of the update to the last sendMessage of the turn (count "
                                        "calibrated per step); baseline: REST request time"}
    extra_env = dict(e.split("=", 1) for e in args.env)
    printer = asyncio.create_task(PROGRESS.run())

    # The fake Bot API: in this process, on a free port.
    fake = FakeBotAPI(TOKEN)
    fake.keep_calls = False
    runner = web.AppRunner(fake.app, access_log=None)
    await runner.setup()
    fake_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", fake_port).start()

    baseline = None if args.no_baseline else BaselineStack(args.fresh_baseline)
    if baseline:
        await baseline.prepare()  # train before ours runs, so training does not share the CPU with a level

    ours = OurStack(args.store, args.dossiers, f"http://127.0.0.1:{fake_port}", extra_env, args.layout, args.rasa_stores)
    say(f"layout {args.layout}, store {args.store}, Rasa's stores {args.rasa_stores}; {os.cpu_count()} cores, "
        f"load average {result['machine']['loadavg_start']}")
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    profiler = Profiler(args.py_spy, args.profile_level, RESULTS) if args.profile_level else None
    try:
        async with aiohttp.ClientSession(connector=connector) as http:
            await ours.start()
            system = OurSystem(ours.bases, fake, http, args.timeout)
            scripts = our_scripts(ours.codes)
            say("ours: calibrating reply counts (each script 3 times, each in its own chat)…")
            calibration = await calibrate(system, scripts, args.quiet)
            bad = [(name, r) for name, rows in calibration.items() for r in rows if not r["ok"]]
            for name, rows in calibration.items():
                say(f"  {name}: replies per step {[r['replies'] for r in rows]}")
            for name, r in bad:
                say(f"  CHECK FAILED in {name!r} step {r['step']}: sent {r['sent']!r}, expected {r['expect']!r}, "
                    f"got {r['last_reply']!r} {r['error']}")
            for line in system.inconsistent:
                say(f"  INCONSISTENT reply count: {line}")
            if any(r["error"] for _, r in bad) or system.inconsistent:
                raise SystemExit("calibration could not finish every script; see above")
            say("ours: warm-up (5 chats, 12 turns each)…")
            await run_level(system, scripts, 5, 12, "ours warm-up", ours.pids(), seed=999)
            result["ours"] = {"store": args.store, **ours.info, "calibration": calibration,
                              "mix": {s.name: s.weight for s in scripts}}
            if ours.pg_names:
                result["machine"]["pg_max_connections"] = await pg_max_connections()
            result["ours"]["levels"] = await play_system(system, scripts, levels, args, ours.pids, "ours", profiler, stamp,
                                                         services=ours.services, pg_dbs=ours.pg_dbs())
            if args.soak:
                say(f"ours: soak, {args.soak_chats} chats for {args.soak:g} min…")
                result["soak"] = await soak(system, scripts, args.soak_chats, args.soak, ours.pids, services=ours.services)
            say("NLU parse latency (our Rasa, /model/parse, held-out texts one at a time)…")
            result["nlu_parse"] = {"ours": await parse_latency(http, ours.rasa, heldout_texts(), ours.token)}
            say(f"  ours: {result['nlu_parse']['ours']}")
            await ours.stop()
            result["ours"]["nlu_cache"] = ours.info.get("nlu_cache")
            if ours.info.get("nlu_cache"):
                c = ours.info["nlu_cache"]
                say(f"ours: NLU cache {c['hits']} hits of {c['lookups']} parses (bench texts repeat more than real ones)")

            if baseline:
                await baseline.start()
                bsystem = BaselineSystem(baseline.base, http, args.timeout)
                bscripts = baseline_scripts()
                await run_level(bsystem, bscripts, 5, 12, "baseline warm-up", baseline.pids(), seed=999)
                result["baseline"] = {**baseline.info, "levels": await play_system(
                    bsystem, bscripts, levels, args, baseline.pids, "baseline", None, stamp)}
                english = ["hi", "I am sad", "are you a bot?", "good morning", "I am great", "no", "yes", "bye",
                           "not very good", "see you later", "hello there", "wonderful", "never", "of course"]
                result["nlu_parse"]["baseline"] = await parse_latency(http, baseline.base, english * 15, None)
                say(f"  baseline parse: {result['nlu_parse']['baseline']}")
                await baseline.stop()
        if args.complaints:
            say("complaint writes per second (file_complaint, concurrent sessions)…")
            result["complaint_writes"] = await complaint_write_bench(args.complaints)
        result["dossier_lookup_1m"] = dossier_lookup_figures()
    finally:
        await ours.stop()
        if baseline:
            await baseline.stop()
        printer.cancel()
        await runner.cleanup()


    result["machine"]["loadavg_end"] = loadavg()
    if "baseline" in result:
        result["ratio"] = ratios(result)
    out = RESULTS / f"load-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    plot(result, RESULTS / "load.png")
    print_summary(result, out)
    return 0
