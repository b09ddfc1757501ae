"""Ours, started for the bench: its stores (SQLite files or fresh PostgreSQL databases) with the
bench dossiers imported, then `motcua run` (layout single) or the six `motcua serve` processes
(layout replicas) on free loopback ports, each a tests.support Process."""
from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from motcua.cases_import import import_csv
from motcua.settings import Settings
from motcua.training import ensure_model, model_path

from bench.load.common import ROOT, SECRET, TOKEN, say
from bench.load.cpu import children, cmdline, service_pids
from tests.support.databases import create_pg_database, drop_pg_database, pg_url
from tests.support.processes import NotReady, Process, free_port, stop_all
from tests.support.servers import motcua_serve, rasa_ready

LOCK_STORE_URL = "redis://127.0.0.1:6379/0"


def bench_dossiers(n: int) -> list[tuple[str, str, str]]:
    """(code, procedure, phone) rows; codes like the one-stop system's."""
    procs = ["khai_sinh", "ket_hon", "cap_so_do", "ho_kinh_doanh", "chuyen_nhuong_dat"]
    return [(f"000.00.24.H08-2611{(i // 9999) % 30 + 1:02d}-{i % 9999 + 1:04d}", procs[i % len(procs)],
             f"09{random.Random(i).randrange(10**8):08d}") for i in range(n)]


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3):
            return True
    except OSError:
        return False


class OurStack:
    def __init__(self, store: str, dossiers: int, fake_url: str, extra_env: dict[str, str],
                 layout: str = "single", rasa_stores: str = "memory") -> None:
        self.store = store
        self.layout = layout
        self.rasa_stores = rasa_stores
        self.n_dossiers = dossiers
        self.fake_url = fake_url
        self.extra_env = extra_env
        self.tmp = Path(tempfile.mkdtemp(prefix="motcua-load-"))
        self.run: Optional[Process] = None      # single: `motcua run`
        self.replicas: list[Process] = []       # replicas: the `motcua serve` processes…
        self.actions: list[Process] = []        # …by component
        self.rasas: list[Process] = []
        self.gateways: list[Process] = []
        self.pg_names: list[str] = []           # the PostgreSQL databases made for this run
        self.token = secrets.token_hex(16)
        self.port, self.rasa_port, self.action_port = free_port(), free_port(), free_port()
        self.codes: list[tuple[str, str]] = []
        self.info: dict[str, Any] = {"layout": layout, "rasa_stores": rasa_stores}
        self.command = [sys.executable, "-m", "motcua.cli", "run"]

    @property
    def bases(self) -> list[str]:
        """The gateways the citizens' updates are sent to."""
        if self.layout == "replicas":
            return [r.url for r in self.gateways]
        return [f"http://127.0.0.1:{self.port}"]

    @property
    def rasa(self) -> str:
        """The Rasa server the NLU parse latency is measured on (replicas: the first)."""
        if self.layout == "replicas":
            return self.rasas[0].url
        return f"http://127.0.0.1:{self.rasa_port}"

    async def _database(self, prefix: str) -> str:
        name = await create_pg_database(prefix)
        self.pg_names.append(name)
        return pg_url(name)

    async def start(self) -> None:
        models = Settings.from_env().models_dir
        cached = model_path(models).exists()
        t = time.monotonic()
        model = await asyncio.to_thread(ensure_model, models)
        self.info["model"] = model.name
        self.info["training_s"] = None if cached else round(time.monotonic() - t, 1)
        say(f"ours: model {model.name} ({'cached' if cached else f'trained in {time.monotonic() - t:.0f} s'})")

        if self.store == "postgresql":
            store_url, cases_url = await self._database("motcua_load_store"), await self._database("motcua_load_cases")
        else:
            store_url = f"sqlite+aiosqlite:///{self.tmp / 'store.db'}"
            cases_url = f"sqlite+aiosqlite:///{self.tmp / 'cases.db'}"
        rows = bench_dossiers(self.n_dossiers)
        csv = self.tmp / "dossiers.csv"
        with open(csv, "w", encoding="utf-8") as f:
            f.write("code,procedure_id,applicant_name,phone,received_at,due_at,status,agency,note\n")
            for i, (code, proc, phone) in enumerate(rows):
                status = ["received", "processing", "need_supplement", "done"][i % 4]
                f.write(f"{code},{proc},Công dân {i},{phone},2026-11-01,2099-12-31,{status},UBND xã Hoài Ân,\n")
        report = await import_csv(csv, cases_url)
        assert not report.errors, report.errors[:3]
        self.codes = [(code, phone) for code, _, phone in rows]
        say(f"ours: {self.store} store and case database ready, {report.rows} bench dossiers imported")

        env = {**os.environ, "RASA_TOKEN": self.token, "MOTCUA_MODELS_DIR": str(models),
               "DATABASE_URL": store_url, "CASE_DATABASE_URL": cases_url, "RASA_TELEMETRY_ENABLED": "false",
               "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
               "TELEGRAM_WEBHOOK_URL": "https://bench.invalid/telegram/webhook",
               "TELEGRAM_API_BASE_URL": self.fake_url}
        if self.rasa_stores == "shared":
            lock_url = self.extra_env.get("RASA_LOCK_STORE_URL", LOCK_STORE_URL)
            if not reachable(lock_url):
                raise SystemExit(f"--rasa-stores shared: no Redis at {lock_url} (start it, or --env RASA_LOCK_STORE_URL=…)")
            name = await create_pg_database("motcua_load_rasa")
            self.pg_names.append(name)
            env.update(RASA_TRACKER_STORE_URL=pg_url(name, "postgresql"), RASA_LOCK_STORE_URL=LOCK_STORE_URL)
        env.update(self.extra_env)
        for key in [k for k in env if k.startswith("ZALO_")]:
            env.pop(key)
        t = time.monotonic()
        if self.layout == "replicas":
            await self._start_replicas(env)
        else:
            await self._start_single(env)
        self.info["cold_start_s"] = round(time.monotonic() - t, 1)
        if self.layout == "replicas":
            self.info["processes"] = {r.name: r.url for r in self.replicas}
            say(f"ours: 2 action servers, 2 Rasa, 2 gateways ready after {self.info['cold_start_s']} s "
                f"({', '.join(f'{r.name} :{r.port}' for r in self.replicas)}); logs in {self.tmp}")
        else:
            say(f"ours: `motcua run` ready after {self.info['cold_start_s']} s (gateway :{self.port}, Rasa :{self.rasa_port}, "
                f"actions :{self.action_port}); log {self.tmp / 'motcua-run.log'}")

    async def _start_single(self, env: dict[str, str]) -> None:
        env = {**env, "PORT": str(self.port), "RASA_URL": f"http://127.0.0.1:{self.rasa_port}",
               "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.action_port}/webhook", **self.extra_env}
        self.run = Process("motcua run", self.command, env, self.tmp / "motcua-run.log", self.bases[0]).start()
        try:
            await self.run.ready("/healthz", 600)
        except NotReady as exc:
            say(f"ours did not start: {exc}")
            raise

    async def _start_replicas(self, env: dict[str, str]) -> None:
        """As tests/test_scale.py's cluster and gateways: rasaN calls actionsN; every gateway
        balances across both Rasa servers; the gateways start once both Rasa have their model."""
        for n in (1, 2):
            a = motcua_serve(f"actions{n}", "actions", free_port(), env, self.tmp / f"actions{n}.log")
            r = motcua_serve(f"rasa{n}", "rasa", free_port(), {**env, "ACTION_ENDPOINT_URL": f"{a.url}/webhook"},
                             self.tmp / f"rasa{n}.log")
            self.actions.append(a)
            self.rasas.append(r)
            self.replicas += [a, r]
        rasa_urls = ",".join(r.url for r in self.rasas)
        for n in (1, 2):
            port = free_port()
            g = motcua_serve(f"gateway{n}", "gateway", port,
                             {**env, "PORT": str(port), "GATEWAY_ID": f"bench-gw{n}", "RASA_URLS": rasa_urls},
                             self.tmp / f"gateway{n}.log")
            self.gateways.append(g)
            self.replicas.append(g)
        try:
            for r in self.actions + self.rasas:
                r.start()
            for r in self.rasas:
                await r.ready(f"/status?token={self.token}", 600, rasa_ready)
            for r in self.actions:
                await r.ready("/health", 60)
            for r in self.gateways:
                r.start()
            for r in self.gateways:
                await r.ready("/healthz", 120)
        except NotReady:
            say("ours did not start; end of the logs:\n" + "\n".join(r.tail() for r in self.replicas if r.log and r.log.exists()))
            raise

    def pids(self) -> dict[str, int]:
        out = {"bench": os.getpid()}
        if self.layout == "replicas":
            out.update({r.name: r.pid for r in self.replicas if r.running()})
            return out
        if self.run is None:
            return out
        for pid in children(self.run.pid):
            cmd = cmdline(pid)
            if "rasa_sdk" in cmd or "actions_run" in cmd:
                out["actions"] = pid
            elif "-m rasa " in cmd or "rasa_run" in cmd:
                out["rasa"] = pid
            elif "-m bot" in cmd:
                out["gateway"] = pid
        return out

    def pg_dbs(self) -> tuple[str, ...]:
        return tuple(self.pg_names)

    def services(self) -> dict[str, list[int]]:
        return service_pids(self.pg_dbs(), redis=self.rasa_stores == "shared")

    async def stop(self) -> None:
        if self.run is not None:
            self.run.stop(grace=30)
        stop_all(self.replicas, grace=30)
        # motcua/rasa_run.py logs its NLU cache's hits now and then (each Rasa its own cache)
        hits = [0, 0]
        for log in [self.tmp / "motcua-run.log"] + [r.log for r in self.rasas if r.log]:
            found = re.findall(r"NLU cache: (\d+) hits / (\d+) lookups", log.read_text(errors="replace")) if log.exists() else []
            if found:
                hits = [hits[0] + int(found[-1][0]), hits[1] + int(found[-1][1])]
        if hits[1]:
            self.info["nlu_cache"] = {"hits": hits[0], "lookups": hits[1]}
        # `motcua run` and `motcua serve rasa` write Rasa's endpoints file per port.
        for port in [self.rasa_port] + [r.port for r in self.rasas]:
            (ROOT / "var" / f"rasa-endpoints-{port}.yml").unlink(missing_ok=True)
        names, self.pg_names = self.pg_names, []
        for name in names:
            try:
                await drop_pg_database(name)
            except Exception as exc:  # noqa: BLE001
                say(f"could not drop {name}: {exc}")
        shutil.rmtree(self.tmp, ignore_errors=True)
