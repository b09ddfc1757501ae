"""Retraining from the admin pages (issue 8): train a candidate, evaluate it next to the serving
model on the held-out set, promote it only if it is not worse, and swap it into the running Rasa
server through its HTTP API (PUT /model), with history and rollback.

Three parts:

- the promotion rule, `decide` (pure; see PROMOTION RULE below);
- the worker, `python -m motcua.retrain worker SPEC.json`: one subprocess that trains with Rasa
  (exactly `rasa train` with the inputs of motcua.training, run in-process so Rasa is imported
  once) and then evaluates both models with motcua.nlu_eval. It prints Rasa's log lines and its
  own `@@ {json}` lines on stdout, and runs at a lower CPU priority than the bot;
- the `Retrainer`, used by the gateway (and `motcua train --promote`): it starts the worker,
  turns its lines into progress stored on the run's row (so any gateway replica can show it),
  applies the rule and promotes.

PROMOTION RULE. On the same held-out examples (nlu/data/test/), in the same run, a candidate is
promoted automatically only if
  1. its intent accuracy is not lower than the serving model's, and
  2. no intent with at least MIN_SUPPORT held-out examples loses more than F1_TOLERANCE of F1.
The tolerance (0.05) lets one example flip in an intent with a dozen or more examples (per-intent
F1 on a few dozen examples moves by ~0.04 per example) but stops a real regression of an intent
hidden by gains elsewhere. Anything else is "rejected": it stays on disk, the serving model keeps
serving, and an admin may still promote it with a written reason (an override, kept in history).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, Sequence, Union
from urllib.parse import quote

import aiohttp
from sqlalchemy import select

from motcua import PROJECT_ROOT, training
from motcua.admin_data import AdminFiles
from motcua.store import model_history
from motcua.store.models import Conversation, ModelVersion

log = logging.getLogger(__name__)

F1_TOLERANCE = 0.05
MIN_SUPPORT = 5
PROGRESS_PREFIX = "@@ "
WORKER_TIMEOUT_SECONDS = 3600
SWAP_TIMEOUT_SECONDS = 300


# --- the promotion rule -------------------------------------------------------------------------

@dataclass
class Verdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%".replace(".", ",")


def _num(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def decide(candidate: dict, current: Optional[dict], f1_tolerance: float = F1_TOLERANCE,
           min_support: int = MIN_SUPPORT) -> Verdict:
    """The promotion rule (see the module's docstring). Scores as `scores_of` gives them."""
    if not current:
        return Verdict(False, ["Không đánh giá được mô hình đang chạy nên không so sánh được."])
    reasons = []
    if candidate["accuracy"] + 1e-9 < current["accuracy"]:
        reasons.append(f"Độ chính xác giảm từ {_pct(current['accuracy'])} xuống {_pct(candidate['accuracy'])}.")
    for intent, old in sorted(current.get("per_intent", {}).items()):
        if old.get("support", 0) < min_support:
            continue
        new_f1 = candidate.get("per_intent", {}).get(intent, {}).get("f1", 0.0)
        if old["f1"] - new_f1 > f1_tolerance + 1e-9:
            reasons.append(f"Ý định {intent}: F1 giảm {_num(old['f1'] - new_f1)} ({_num(old['f1'])} → {_num(new_f1)}),"
                           f" quá mức cho phép {_num(f1_tolerance)}.")
    return Verdict(not reasons, reasons)


def compare_rows(candidate: Optional[dict], current: Optional[dict]) -> list[dict[str, Any]]:
    """Per-intent rows for the page: support, F1 of each model and the change."""
    candidate, current = candidate or {}, current or {}
    intents = sorted(set(candidate.get("per_intent", {})) | set(current.get("per_intent", {})))
    rows = []
    for intent in intents:
        new = candidate.get("per_intent", {}).get(intent)
        old = current.get("per_intent", {}).get(intent)
        rows.append({"intent": intent, "support": (new or old or {}).get("support", 0),
                     "old": old["f1"] if old else None, "new": new["f1"] if new else None,
                     "delta": (new["f1"] - old["f1"]) if new and old else None})
    return rows


# --- progress from the worker's lines ----------------------------------------------------------

_TRAINING = re.compile(r"Starting to train component '([^']+)'")
_DONE = re.compile(r"(?:Finished training component|Restored component) '([^']+)'")


def trainable_components(config: Path) -> int:
    """How many pipeline and policy components train (tokenizers and the fallback do not)."""
    import yaml

    data = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    names = [str(c.get("name", "")) for c in (data.get("pipeline") or []) + (data.get("policies") or [])]
    return max(1, sum(1 for n in names if not n.endswith("Tokenizer") and n != "FallbackClassifier"))


class Progress:
    """Turns the worker's output into (percent, stage) updates for the page."""

    def __init__(self, components: int) -> None:
        self.components = components
        self.done = 0

    def feed(self, line: str) -> Optional[tuple[int, str]]:
        if line.startswith(PROGRESS_PREFIX):
            try:
                event = json.loads(line[len(PROGRESS_PREFIX):])
            except ValueError:
                return None
            return self._event(event)
        if "Started validating domain and training data" in line:
            return 5, "Đang kiểm tra dữ liệu huấn luyện"
        match = _TRAINING.search(line)
        if match:
            return self._train_pct(), f"Đang huấn luyện thành phần {match.group(1)} ({self.done + 1}/{self.components})"
        match = _DONE.search(line)
        if match:
            self.done = min(self.components, self.done + 1)
            return self._train_pct(), f"Đã xong thành phần {match.group(1)} ({self.done}/{self.components})"
        return None

    def _train_pct(self) -> int:
        return 10 + int(65 * self.done / self.components)

    @staticmethod
    def _event(event: dict) -> Optional[tuple[int, str]]:
        kind = event.get("event")
        if kind == "start":
            return 2, "Đang khởi động tiến trình huấn luyện"
        if kind == "trained":
            return 76, "Đã huấn luyện xong mô hình mới"
        if kind == "reused":
            return 76, "Dữ liệu này đã có mô hình, dùng lại để đánh giá"
        if kind == "eval":
            done, total = int(event.get("done", 0)), max(1, int(event.get("total", 1)))
            if event.get("model") == "candidate":
                return 78 + int(10 * done / total), f"Đang đánh giá mô hình mới trên tập kiểm tra ({done}/{total})"
            return 88 + int(8 * done / total), f"Đang đánh giá mô hình đang chạy ({done}/{total})"
        return None


# --- the worker (a subprocess) ------------------------------------------------------------------

def _emit(**event: Any) -> None:
    print(PROGRESS_PREFIX + json.dumps(event, ensure_ascii=False), flush=True)


def scores_of(report) -> dict[str, Any]:
    """What is stored and compared of a motcua.nlu_eval.Report."""
    return {"n": report.n, "accuracy": report.accuracy, "macro_f1": report.macro_f1,
            "per_intent": report.per_intent, "entity_f1": report.entity_f1,
            "part_accuracy": report.part_accuracy, "confusions": [list(c) for c in report.confusions[:10]]}


async def _evaluate(model: Path, examples: list, label: str) -> dict[str, Any]:
    from motcua import nlu_eval

    parse = nlu_eval.agent_parser(model)
    predictions = []
    step = 50
    for i in range(0, len(examples), step):
        predictions += await nlu_eval.predict(examples[i:i + step], parse)
        _emit(event="eval", model=label, done=len(predictions), total=len(examples))
    return scores_of(nlu_eval.score(predictions))


def _train(spec: dict) -> None:
    """`rasa train` in this process, into a temporary folder, moved into place when complete."""
    from rasa.__main__ import create_argument_parser
    from rasa.cli.train import run_training
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    target = Path(spec["candidate"])
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".training-") as tmp:
        args = create_argument_parser().parse_args(
            ["train", "--config", spec["config"], "--domain", spec["domain"], "--data", *spec["data"],
             "--out", tmp, "--fixed-model-name", target.name.removesuffix(".tar.gz")])
        configure_logging_and_warnings(logging.INFO, warn_only_once=True, filter_repeated_logs=True)
        configure_structlog(logging.INFO)
        if not run_training(args):
            raise SystemExit("training failed")
        os.replace(Path(tmp) / target.name, target)


def worker(spec_path: str) -> int:
    """Train (unless the candidate exists), then evaluate candidate and serving model; the last
    line is `@@ {"event": "result", …}`."""
    try:
        os.nice(10)  # the bot answers first; training takes what is left
    except OSError:
        pass
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s - %(message)s")
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    _emit(event="start")
    started = time.monotonic()
    if spec.get("train"):
        _train(spec)
        _emit(event="trained", seconds=round(time.monotonic() - started, 1))
    else:
        _emit(event="reused")
    train_seconds = time.monotonic() - started
    # The model to compare with is the one serving now, after training: the gateway answers with
    # {"current": path or null} on stdin.
    answer = sys.stdin.readline()
    current = json.loads(answer).get("current") if answer.strip() else None

    from motcua import nlu_eval

    examples = nlu_eval.load_examples([Path(p) for p in spec["test"]])
    result: dict[str, Any] = {"candidate": asyncio.run(_evaluate(Path(spec["candidate"]), examples, "candidate")),
                              "current": None, "train_seconds": round(train_seconds, 1)}
    if current:
        result["current"] = asyncio.run(_evaluate(Path(current), examples, "current"))
    _emit(event="result", **result)
    return 0


# --- the job, in the gateway ---------------------------------------------------------------------

@dataclass(frozen=True)
class Workspace:
    """Where a retraining reads and writes: the models folder, the admin data files and the
    held-out set (tests point them at temporary copies)."""

    models_dir: Path
    files: AdminFiles = AdminFiles()
    test_paths: tuple[Path, ...] = (PROJECT_ROOT / "nlu" / "data" / "test",)


class SwapFailed(Exception):
    """Rasa did not load the model (the message is Vietnamese, for the page)."""


def _child_setup() -> None:
    from motcua.supervisor import _child_setup as setup

    setup()  # own process group, ended with the gateway


class Retrainer:
    """One per gateway process: starts retraining runs and swaps models into Rasa."""

    def __init__(self, db, http, rasa_urls: Union[str, Sequence[str]], rasa_token: Optional[str],
                 workspace: Workspace, on_line: Optional[Callable[[str], None]] = None,
                 persistent_trackers: bool = False, engine_python: str = sys.executable) -> None:
        self.db = db
        # The worker trains with Rasa: it runs from the engine's environment, not the gateway's.
        self.engine_python = engine_python
        self.http = http
        # Every Rasa replica: a promoted model is put into each (PUT /model changes only the one it hits).
        self.rasa_urls = [u.rstrip("/") for u in ([rasa_urls] if isinstance(rasa_urls, str) else rasa_urls)]
        self.rasa_url = self.rasa_urls[0]
        # With a SQL (or Redis) tracker store, trackers survive PUT /model: nothing to carry over.
        self.persistent_trackers = persistent_trackers
        self.params = {"token": rasa_token} if rasa_token else {}
        self.workspace = workspace
        self.on_line = on_line
        self.task: Optional[asyncio.Task] = None
        self.proc: Optional[asyncio.subprocess.Process] = None
        self._swap = asyncio.Lock()

    # Rasa's HTTP API -----------------------------------------------------------------------
    async def serving_name(self) -> Optional[str]:
        """The model file Rasa serves (the first replica that answers); None when none answers."""
        for url in self.rasa_urls:
            name = await self._serving_name(url)
            if name:
                return name
        return None

    async def serving_names(self) -> dict[str, Optional[str]]:
        """Each replica's model file (None: it does not answer)."""
        names = await asyncio.gather(*(self._serving_name(url) for url in self.rasa_urls))
        return dict(zip(self.rasa_urls, names))

    async def _serving_name(self, rasa_url: str) -> Optional[str]:
        try:
            async with self.http.get(f"{rasa_url}/status", params=self.params,
                                     timeout=aiohttp.ClientTimeout(total=5)) as resp:
                if resp.status != 200:
                    return None
                name = (await resp.json(content_type=None)).get("model_file")
                return Path(name).name if name else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, AttributeError):
            return None

    async def sync(self):
        """The ModelVersion Rasa serves (registered on first sight); None when Rasa is down."""
        name = await self.serving_name()
        if not name:
            return None
        async with self.db.session() as session, session.begin():
            return await model_history.note_serving(session, name)

    async def swap(self, path: Path) -> float:
        """PUT /model on every replica, one after the other (the others keep answering meanwhile).
        Returns the longest swap's seconds; SwapFailed names the replicas that did not take it
        (the others serve the new model: promoting again finishes the job)."""
        seconds, failed = 0.0, []
        for url in self.rasa_urls:
            try:
                seconds = max(seconds, await self._swap_one(url, path))
            except SwapFailed as exc:
                log.error("Rasa at %s did not take model %s: %s", url, Path(path).name, exc)
                failed.append((url, exc))
        if failed:
            if len(self.rasa_urls) == 1:
                raise failed[0][1]
            done = len(self.rasa_urls) - len(failed)
            raise SwapFailed(f"{done}/{len(self.rasa_urls)} máy chủ Rasa đã nạp mô hình; chưa nạp được ở "
                             + "; ".join(f"{url} ({exc})" for url, exc in failed))
        return seconds

    async def _swap_one(self, rasa_url: str, path: Path) -> float:
        """PUT /model: Rasa loads the file, then replaces its agent. Loading blocks Rasa's event loop
        for about a second: messages arriving meanwhile wait and are answered (none is dropped).
        Returns the seconds it took."""
        started = time.monotonic()
        try:
            async with self.http.put(f"{rasa_url}/model", params=self.params,
                                     json={"model_file": str(Path(path).resolve())},
                                     timeout=aiohttp.ClientTimeout(total=SWAP_TIMEOUT_SECONDS)) as resp:
                if resp.status != 204:
                    raise SwapFailed(f"Rasa không nạp được mô hình (HTTP {resp.status}): {(await resp.text())[:300]}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise SwapFailed(f"Không kết nối được Rasa để nạp mô hình: {exc or type(exc).__name__}") from exc
        seconds = time.monotonic() - started
        if await self._serving_name(rasa_url) != Path(path).name:
            raise SwapFailed("Rasa báo đã nạp nhưng vẫn chạy mô hình khác.")
        return seconds

    async def promote(self, model_id: int, actor: str, action: str, reason: str = "") -> float:
        """Puts a model into service: swap in Rasa, record the event, remember it for restarts."""
        async with self._swap:
            async with self.db.session() as session:
                model = await session.get(ModelVersion, model_id)
            if model is None or not model.name or not (self.workspace.models_dir / model.name).is_file():
                raise SwapFailed("Không tìm thấy tệp của mô hình này trong thư mục models/.")
            carried = not self.persistent_trackers
            trackers = await self._trackers(await self._active_senders()) if carried else {}
            seconds = await self.swap(self.workspace.models_dir / model.name)
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

    async def _tracker(self, sender: str) -> Optional[dict]:
        try:
            async with self.http.get(f"{self.rasa_url}/conversations/{quote(sender, safe='')}/tracker",
                                     params=self.params, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                return await resp.json(content_type=None) if resp.status == 200 else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None

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
            try:
                async with self.http.put(f"{self.rasa_url}/conversations/{quote(sender, safe='')}/tracker/events",
                                         params=self.params, json=events,
                                         timeout=aiohttp.ClientTimeout(total=10)) as resp:
                    restored += resp.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
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
            path = ws.models_dir / now.name if now is not None and now.name else None
            await self._update(run_id, baseline_id=now.id if now is not None else None)
            return str(path) if path is not None and path.is_file() else None

        with training.domain_argument(inputs) as domain, tempfile.TemporaryDirectory(prefix="motcua-retrain-") as tmp:
            spec = {"train": not target.exists(), "candidate": str(target), "config": str(inputs.config),
                    "domain": str(domain), "data": [str(p) for p in inputs.data_paths()],
                    "test": [str(p) for p in ws.test_paths]}
            (Path(tmp) / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
            await self._update(run_id, name=target.name, data_hash=training.inputs_hash(inputs))
            result = await self._worker(run_id, Path(tmp) / "spec.json", trainable_components(inputs.config), baseline)
        verdict = decide(result["candidate"], result.get("current"))
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
            self.engine_python, "-m", "motcua.retrain", "worker", str(spec), cwd=PROJECT_ROOT, env=env,
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


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua.retrain")
    sub = parser.add_subparsers(dest="verb", required=True)
    w = sub.add_parser("worker", help="train and evaluate (started by the gateway)")
    w.add_argument("spec")
    args = parser.parse_args(argv)
    return worker(args.spec)


if __name__ == "__main__":
    sys.exit(main())
