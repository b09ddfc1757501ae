"""The retraining job, in the gateway (and `motcua train --candidate`): it starts the worker, turns
its lines into progress stored on the run's row (so any gateway replica can show it), applies the
promotion rule and swaps the model into every Rasa server (PUT /model), with history and rollback."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, Sequence, Union

import aiohttp
from sqlalchemy import select

from motcua import PROJECT_ROOT, training
from motcua.admin_data import AdminFiles
from motcua.rasa_api import RasaApi
from motcua.rasa_replicas import RasaReplicas
from motcua.retrain.progress import PROGRESS_PREFIX, Progress, trainable_components
from motcua.retrain.rule import decide
from motcua.store import model_files, model_history
from motcua.store.models import Conversation, ModelVersion
from motcua.supervisor import _child_setup  # own process group, ended with the gateway

log = logging.getLogger(__name__)

WORKER_TIMEOUT_SECONDS = 3600
SWAP_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Workspace:
    """Where a retraining reads and writes: the models folder, the admin data files and the
    held-out set (tests point them at temporary copies)."""

    models_dir: Path
    files: AdminFiles = AdminFiles()
    test_paths: tuple[Path, ...] = (PROJECT_ROOT / "nlu" / "data" / "test",)


class SwapFailed(Exception):
    """Rasa did not load the model (the message is Vietnamese, for the page)."""


class Retrainer:
    """One per gateway process: starts retraining runs and swaps models into Rasa."""

    def __init__(self, db, http, rasa: Union[str, Sequence[str], RasaReplicas], rasa_token: Optional[str],
                 workspace: Workspace, on_line: Optional[Callable[[str], None]] = None,
                 persistent_trackers: bool = False, engine_python: str = sys.executable) -> None:
        self.db = db
        # The worker trains with Rasa: it runs from the engine's environment, not the gateway's.
        self.engine_python = engine_python
        self.http = http
        # Every Rasa replica: a promoted model is put into each (PUT /model changes only the one it hits).
        self.replicas = RasaReplicas.of(rasa)
        # With a SQL (or Redis) tracker store, trackers survive PUT /model: nothing to carry over.
        self.persistent_trackers = persistent_trackers
        self.api = RasaApi(http, rasa_token)
        self.workspace = workspace
        self.on_line = on_line
        self.task: Optional[asyncio.Task] = None
        self.proc: Optional[asyncio.subprocess.Process] = None
        self._swap = asyncio.Lock()

    # Rasa's HTTP API -----------------------------------------------------------------------
    async def serving_name(self) -> Optional[str]:
        """The model file Rasa serves (the first replica that answers); None when none answers."""
        for url in await self.replicas.current():
            name = await self._serving_name(url)
            if name:
                return name
        return None

    async def serving_names(self) -> dict[str, Optional[str]]:
        """Each replica's model file (None: it does not answer)."""
        urls = await self.replicas.current()
        names = await asyncio.gather(*(self._serving_name(url) for url in urls))
        return dict(zip(urls, names))

    async def _serving_name(self, rasa_url: str) -> Optional[str]:
        return await self.api.serving(rasa_url)

    async def sync(self):
        """The ModelVersion Rasa serves (registered on first sight, and published if no model is
        yet, so that replicas pulling from the gateways find it); None when Rasa is down."""
        name = await self.serving_name()
        if not name:
            return None
        async with self.db.session() as session, session.begin():
            if await model_files.published(session) is None and (self.workspace.models_dir / name).is_file():
                await model_files.publish(session, await model_files.keep(session, self.workspace.models_dir / name,
                                                                          self._base_hash()))
            return await model_history.note_serving(session, name)

    async def _local(self, name: str) -> Optional[Path]:
        """The model file in this gateway's models folder, written there from the store if another
        gateway trained it (no shared volume); None if neither has it."""
        path = self.workspace.models_dir / name
        if not path.is_file():
            async with self.db.session() as session:
                content = await model_files.content(session, name)
            if content is None:
                return None
            tmp = path.with_suffix(".part")
            tmp.write_bytes(content)
            os.replace(tmp, path)
        return path

    def _base_hash(self) -> str:
        """The hash of the data outside the admins' files (motcua.training.inputs_hash)."""
        return training.inputs_hash(self.workspace.files.inputs(), admin=False)

    async def swap(self, path: Path) -> float:
        """PUT /model on every replica, one after the other (the others keep answering meanwhile).
        Returns the longest swap's seconds; SwapFailed names the replicas that did not take it
        (the others serve the new model: promoting again finishes the job)."""
        seconds, failed, urls = 0.0, [], await self.replicas.current()
        for url in urls:
            try:
                seconds = max(seconds, await self._swap_one(url, path))
            except SwapFailed as exc:
                log.error("Rasa at %s did not take model %s: %s", url, Path(path).name, exc)
                failed.append((url, exc))
        if failed:
            if len(urls) == 1:
                raise failed[0][1]
            done = len(urls) - len(failed)
            raise SwapFailed(f"{done}/{len(urls)} máy chủ Rasa đã nạp mô hình; chưa nạp được ở "
                             + "; ".join(f"{url} ({exc})" for url, exc in failed))
        return seconds

    async def _swap_one(self, rasa_url: str, path: Path) -> float:
        """PUT /model: Rasa loads the file, then replaces its agent. Loading blocks Rasa's event loop
        for about a second: messages arriving meanwhile wait and are answered (none is dropped).
        Returns the seconds it took."""
        started = time.monotonic()
        try:
            status, body = await self.api.put_model(rasa_url, path, SWAP_TIMEOUT_SECONDS)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise SwapFailed(f"Không kết nối được Rasa để nạp mô hình: {exc or type(exc).__name__}") from exc
        if status != 204:
            raise SwapFailed(f"Rasa không nạp được mô hình (HTTP {status}): {body[:300]}")
        seconds = time.monotonic() - started
        if await self._serving_name(rasa_url) != Path(path).name:
            raise SwapFailed("Rasa báo đã nạp nhưng vẫn chạy mô hình khác.")
        return seconds

    async def promote(self, model_id: int, actor: str, action: str, reason: str = "") -> float:
        """Puts a model into service: swap in Rasa, record the event, remember it for restarts."""
        async with self._swap:
            async with self.db.session() as session:
                model = await session.get(ModelVersion, model_id)
            path = await self._local(model.name) if model is not None and model.name else None
            if model is None or path is None:
                raise SwapFailed("Không tìm thấy tệp của mô hình này (thư mục models/ hay kho dữ liệu).")
            async with self.db.session() as session, session.begin():
                # Published first: replicas that pull (model server) take it even if a PUT below fails.
                await model_files.publish(session, await model_files.keep(session, path, self._base_hash()))
            carried = not self.persistent_trackers
            trackers = await self._trackers(await self._active_senders()) if carried else {}
            seconds = await self.swap(path)
            restored = await self._restore(trackers) if carried else 0
            async with self.db.session() as session, session.begin():
                await model_history.add_event(session, model_id, action, actor, reason, swap_seconds=seconds)
            training.write_active(self.workspace.models_dir, model.name, self.workspace.files.inputs())
            log.info("model %s put into service (%s by %s) in %.1f s; %d conversations carried over",
                     model.name, action, actor, seconds, restored)
            return seconds

    # Conversations across a swap --------------------------------------------------------------
    # PUT /model gives Rasa's new agent a new tracker store: with the default in-memory store
    # (endpoints.yml has none), a citizen in the middle of a form would start over. So the
    # trackers of recent conversations are read before the swap and written back after it
    # (PUT /conversations/<id>/tracker/events), unless the citizen already wrote to the new
    # agent. Messages answered by the old agent in the second or so between the two are the
    # only ones whose state is lost; a SQL or Redis tracker store avoids even that.
    async def _active_senders(self, minutes: int = 60, limit: int = 2000) -> list[str]:
        since = datetime.now(timezone.utc) - timedelta(minutes=minutes)
        async with self.db.session() as session:
            rows = await session.execute(select(Conversation.channel, Conversation.chat_id)
                                         .where(Conversation.last_message_at >= since)
                                         .order_by(Conversation.last_message_at.desc()).limit(limit))
            return [f"{channel}:{chat_id}" for channel, chat_id in rows.all()]

    async def _in_memory_rasa(self) -> str:
        """Without a persistent tracker store there is one Rasa server (its trackers live in it)."""
        return (await self.replicas.current())[0]

    async def _tracker(self, sender: str) -> Optional[dict]:
        return await self.api.tracker(await self._in_memory_rasa(), sender)

    async def _trackers(self, senders: list[str]) -> dict[str, list]:
        out = {}
        for sender in senders:
            tracker = await self._tracker(sender)
            if tracker and any(e.get("event") == "user" for e in tracker.get("events") or []):
                out[sender] = tracker["events"]
        return out

    async def _restore(self, trackers: dict[str, list]) -> int:
        restored = 0
        for sender, events in trackers.items():
            now = await self._tracker(sender)
            if now is None or any(e.get("event") == "user" for e in now.get("events") or []):
                continue  # wrote to the new agent already: its answer stands
            if await self.api.put_tracker_events(await self._in_memory_rasa(), sender, events):
                restored += 1
            else:
                log.warning("could not carry a conversation over the model swap")
        return restored

    # Runs ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    async def start(self, actor: str, candidate: Optional[Path] = None) -> int:
        """Starts a run in the background; returns its id. Raises model_history.Busy.

        With `candidate`, that existing model file is evaluated and judged instead of training."""
        async with self.db.session() as session, session.begin():
            run = await model_history.start_run(session, actor)
            run_id = run.id
        self.task = asyncio.create_task(self._run(run_id, actor, candidate))
        return run_id

    async def wait(self) -> None:
        if self.task is not None:
            await asyncio.shield(self.task)

    async def _update(self, run_id: int, **values) -> None:
        async with self.db.session() as session, session.begin():
            await model_history.update_run(session, run_id, **values)

    async def _run(self, run_id: int, actor: str, candidate: Optional[Path]) -> None:
        done = {"finished_at": datetime.now(timezone.utc)}
        try:
            await self._run_steps(run_id, actor, candidate)
        except asyncio.CancelledError:
            await self._update(run_id, status="failed", error="Cổng dịch vụ dừng khi đang huấn luyện.", **done)
            raise
        except SwapFailed as exc:  # accepted, but Rasa did not take it: the page offers to try again
            await self._update(run_id, status="accepted", stage="Mô hình đạt nhưng chưa nạp được vào Rasa",
                               error=str(exc), **done)
        except Exception as exc:  # noqa: BLE001 - any failure ends the run with its reason on the page
            log.exception("retraining run %s failed", run_id)
            await self._update(run_id, status="failed", stage="Lỗi", error=str(exc)[:2000] or type(exc).__name__,
                               **done)

    async def _serving_now(self, wait: float = 60.0):
        """sync(), waiting a little for a Rasa that is busy or starting."""
        deadline = time.monotonic() + wait
        while True:
            current = await self.sync()
            if current is not None or time.monotonic() > deadline:
                return current
            await asyncio.sleep(2)

    async def _run_steps(self, run_id: int, actor: str, candidate: Optional[Path]) -> None:
        ws = self.workspace
        inputs = ws.files.inputs()
        target = Path(candidate) if candidate else training.model_path(ws.models_dir, inputs=inputs)
        current = await self.sync()
        if candidate is None and current is not None and current.name == target.name:
            await self._update(run_id, status="unchanged", progress=100, name=target.name,
                               stage="Dữ liệu huấn luyện chưa thay đổi so với mô hình đang chạy.",
                               finished_at=datetime.now(timezone.utc))
            return

        async def baseline() -> Optional[str]:
            """Asked by the worker once the candidate is ready: the model serving now."""
            now = await self._serving_now()
            path = await self._local(now.name) if now is not None and now.name else None
            await self._update(run_id, baseline_id=now.id if now is not None else None)
            return str(path) if path is not None else None

        with training.domain_argument(inputs) as domain, tempfile.TemporaryDirectory(prefix="motcua-retrain-") as tmp:
            spec = {"train": not target.exists(), "candidate": str(target), "config": str(inputs.config),
                    "domain": str(domain), "data": [str(p) for p in inputs.data_paths()],
                    "test": [str(p) for p in ws.test_paths]}
            (Path(tmp) / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
            await self._update(run_id, name=target.name, data_hash=training.inputs_hash(inputs))
            result = await self._worker(run_id, Path(tmp) / "spec.json", trainable_components(inputs.config), baseline)
        verdict = decide(result["candidate"], result.get("current"))
        # Kept whatever the verdict: an admin may override a refusal from any gateway.
        async with self.db.session() as session, session.begin():
            await model_files.keep(session, target, self._base_hash())
        await self._update(run_id, scores=result["candidate"], baseline_scores=result.get("current"),
                           reasons=verdict.reasons, train_seconds=result.get("train_seconds"))
        if not verdict.ok:
            await self._update(run_id, status="rejected", progress=100, stage="Không đạt quy tắc đưa vào sử dụng",
                               finished_at=datetime.now(timezone.utc))
            return
        # Still "running" for the page until Rasa serves it.
        await self._update(run_id, progress=97, stage="Đạt quy tắc, đang nạp mô hình mới vào Rasa")
        seconds = await self.promote(run_id, actor, "promote")
        await self._update(run_id, status="accepted", progress=100,
                           stage=f"Đã đưa vào sử dụng (nạp trong {seconds:.1f} s)", finished_at=datetime.now(timezone.utc))

    async def _worker(self, run_id: int, spec: Path, components: int,
                      baseline: Callable[[], Awaitable[Optional[str]]]) -> dict:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
        proc = self.proc = await asyncio.create_subprocess_exec(
            self.engine_python, "-m", "motcua.retrain.worker", str(spec), cwd=PROJECT_ROOT, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_child_setup, limit=1 << 22)
        assert proc.stdout is not None and proc.stdin is not None  # both PIPE
        stdout, stdin = proc.stdout, proc.stdin
        progress, tail = Progress(components), deque[str](maxlen=40)
        found: dict[str, Any] = {}

        async def pump() -> int:
            last_write = 0.0
            while True:
                raw = await stdout.readline()
                if not raw:
                    return await proc.wait()
                line = raw.decode("utf-8", "replace").rstrip()
                if self.on_line:
                    self.on_line(line)
                if line.startswith(PROGRESS_PREFIX + '{"event": "result"'):
                    found["result"] = json.loads(line[len(PROGRESS_PREFIX):])
                    continue
                if line.startswith((PROGRESS_PREFIX + '{"event": "trained"', PROGRESS_PREFIX + '{"event": "reused"')):
                    await self._update(run_id, **dict(zip(("progress", "stage"), progress.feed(line) or ())))
                    stdin.write((json.dumps({"current": await baseline()}) + "\n").encode())
                    await stdin.drain()
                    continue
                tail.append(line)
                update = progress.feed(line)
                now = time.monotonic()
                if update or now - last_write > 5:  # progress, or a heartbeat
                    await self._update(run_id, **({"progress": update[0], "stage": update[1][:200]} if update else {}))
                    last_write = now

        try:
            code = await asyncio.wait_for(pump(), WORKER_TIMEOUT_SECONDS)
        finally:
            if proc.returncode is None:
                self._kill()
                await proc.wait()
        result = found.get("result")
        if code != 0 or result is None:
            meaningful = [t for t in tail if t.strip() and "Warning" not in t]
            await self._update(run_id, log_tail="\n".join(tail))
            raise RuntimeError("Tiến trình huấn luyện dừng với lỗi: " + " | ".join(meaningful[-3:])[:1500])
        return result

    def _kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    async def close(self) -> None:
        """The gateway stops: the worker goes too, and the run is marked failed."""
        self._kill()
        if self.task is not None and not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
