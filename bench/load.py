"""Load: N concurrent citizens through the Telegram webhook of the whole bot, against a plain
`rasa init` assistant over its REST channel, in the same run.

    .venv/bin/python bench/load.py [--levels 1,10,50,200] [--layout single|replicas]
                                   [--store sqlite|postgresql] [--rasa-stores memory|shared]
                                   [--turns-per-chat 8] [--min-turns 100] [--timeout 30]
                                   [--no-baseline] [--profile-level 50 --py-spy PATH]

Layouts (`--layout`):

- `single` (default): `motcua run`, one action server, one Rasa and one gateway under its
  supervisor; `--store sqlite` (default) or `postgresql`; Rasa's trackers and locks in memory
  unless `--rasa-stores shared`.
- `replicas`: production mode on loopback, as tests/test_scale.py and docker-compose.yml: two
  `motcua serve actions`, two `motcua serve rasa` (each calling its own action server; the SQL
  tracker store in a fresh PostgreSQL database and the Redis lock store, shared by both), two
  `motcua serve gateway` (distinct GATEWAY_IDs, RASA_URLS listing both Rasa servers, which they
  balance round robin) on the PostgreSQL bot store and case database. The load generator plays
  the round-robin proxy in front of the gateways: each chat's updates alternate between them.
  Implies `--store postgresql --rasa-stores shared`; neither may be changed.

`--rasa-stores shared` in the single layout (a fresh PostgreSQL tracker database, Redis locks)
compares one of each with the replicas on the same stores: `--store postgresql` alone keeps
Rasa's trackers in memory, which the replicas cannot. The Redis lock store is
`redis://127.0.0.1:6379/0` (another with `--env RASA_LOCK_STORE_URL=…`).

What it does, in order (progress is printed as it goes):

1. **Ours.** Trains the model if needed (`motcua.training.ensure_model`), creates its own bot
   store and case database (temporary SQLite files, or fresh PostgreSQL databases with
   `--store postgresql`, dropped at the end), imports `--dossiers` bench dossiers with
   `import_csv` (the code of `motcua cases import`), starts a fake Telegram Bot API in this
   process, then `motcua run` (action server, Rasa, gateway; with `--layout replicas` the six
   `motcua serve` processes) on free loopback ports with the Telegram webhook on, and waits for
   `/healthz` (of each gateway).
2. **Calibration.** Every script is played three times (other wordings), each in its own chat,
   and each step's replies are counted by waiting for a quiet period (`--quiet` s without a new
   sendMessage); a step whose count differs between plays stops the bench. With two gateways
   the plays start on alternate gateways, so each step is counted through both. Each step's
   content check (what the tests expect: "4 số cuối", "Hồ sơ <code>", "mã PA-", …) must pass.
3. **Levels.** For each concurrency level, that many citizens play at once, with no think time;
   each plays scripts one after another, each script one conversation in a fresh chat, until it
   has sent `--turns-per-chat` messages (at least `--min-turns` per level in all), waiting for
   each turn's replies before the next message, like a person. The mix: procedure questions with
   and without diacritics and in shorthand (and a button of a procedure card), dossier lookups
   (code, then the last 4 phone digits), and the complaint form (content, category button,
   place, name, phone or "Bỏ qua", confirm button, then the ticket's status), answering whatever
   the form asks. A turn is the POST of one update (message or button press) to
   `/telegram/webhook` with the secret header; it ends at the **last** sendMessage of that turn,
   known by the calibrated count of replies for that step; its latency is the time between the
   POST and that sendMessage reaching the fake Bot API. A turn without all its replies within
   `--timeout` s is an error (the citizen goes on with a new chat); a turn whose last reply
   fails the step's check is "wrong". After each level the bench waits a quiet second and
   counts replies beyond the calibrated ones ("extra"): non-zero would mean a wrong count.
4. **Baseline.** `rasa init --no-prompt` in a temporary folder (trained once and kept in
   `bench/results/baseline-rasa-init/`; `--fresh-baseline` makes a new one), then
   `rasa run --enable-api`; the same levels are played over its REST channel
   (`/webhooks/rest/webhook`, whose answer carries all the replies: latency is the request's)
   with English moodbot conversations.
5. NLU parse latency (`/model/parse`, one at a time, held-out texts), complaint writes per
   second on PostgreSQL (`file_complaint` from 1, 10 and 50 concurrent sessions, and SQLite
   for comparison), and the dossier lookup at 1,000,000 rows as measured by
   `bench/dossiers.py` (read from bench/results/dossiers.json when present, else the README).

Throughput is successful turns divided by the level's wall time (first POST to last reply).
CPU seconds of every process (from /proc) are recorded per level, as CPU ms per turn: the bench
itself (load generator and fake Bot API), each of our processes, the PostgreSQL backends
connected to our databases, the Redis server (when Rasa's stores are shared; it is the
machine's one), the machine's busy CPU (/proc/stat) and the rest of it ("other": PostgreSQL's
own writers, the kernel, anything else running on the machine). With PostgreSQL, the peak of
its client connections is recorded too (ours, and the server's: past its max_connections it
refuses them, which shows as webhook errors and "busy" replies, and is warned about).

Output: a header (layout, stores, load average), the latency table, a table of CPU ms per
turn, bench/results/load-<timestamp>.json (layout and processes under "ours") and
bench/results/load.png (p95 and throughput against concurrency, ours and baseline).
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fake_telegram import FakeTelegram, callback_update, text_update  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BASELINE_CACHE = RESULTS / "baseline-rasa-init"
PG_ADMIN = os.environ.get("MOTCUA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TOKEN = "123456:BENCH-token"
SECRET = "bench-webhook-secret"
T0 = time.monotonic()


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> Optional[float]:
    """Nearest-rank percentile (p in 0..100) in milliseconds, of latencies in seconds."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return round(s[k] * 1000, 1)


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


# --- CPU time of processes (from /proc) --------------------------------------------------------

CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except (OSError, IndexError, ValueError):
        return 0.0


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def machine_busy_seconds() -> float:
    """CPU seconds the machine spent not idle (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLK


def service_pids(dbs: tuple[str, ...], redis: bool) -> dict[str, list[int]]:
    """The PostgreSQL backends connected to our databases (their titles name the database) and
    the Redis server: where the stores' CPU goes, which our processes' own figures leave out."""
    out: dict[str, list[int]] = {"postgresql": []}
    if redis:
        out["redis"] = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        cmd = cmdline(int(d.name))
        if dbs and cmd.startswith("postgres: ") and any(f" {db} " in cmd for db in dbs):
            out["postgresql"].append(int(d.name))
        elif redis and "redis-server" in cmd.split(" ", 1)[0]:
            out["redis"].append(int(d.name))
    return out if dbs or redis else {}


def pg_backends(dbs: tuple[str, ...]) -> tuple[int, int]:
    """PostgreSQL client connections (backend titles end in "host(port) state"): to our databases,
    and to the whole server, whose max_connections they share with anything else running."""
    ours = every = 0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            cmd = cmdline(int(d.name))
            if cmd.startswith("postgres: ") and re.search(r"\(\d+\) ", cmd):
                every += 1
                ours += any(f" {db} " in cmd for db in dbs)
    return ours, every


def cpu_sample(pids: dict[str, int], services: Optional[Callable[[], dict[str, list[int]]]]) -> dict[str, dict[int, float]]:
    out = {name: {pid: cpu_seconds(pid)} for name, pid in pids.items()}
    for name, group in (services() if services else {}).items():
        out[name] = {pid: cpu_seconds(pid) for pid in group}
    out["machine"] = {0: machine_busy_seconds()}
    return out


def cpu_delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds per name between two samples; a process that appeared in between (a new pooled
    connection's backend) counts from zero."""
    out = {name: round(sum(v - before.get(name, {}).get(pid, 0.0) for pid, v in now.items()), 2)
           for name, now in after.items()}
    out["other"] = round(out["machine"] - sum(v for k, v in out.items() if k != "machine"), 2)
    return out


def role(name: str) -> str:
    return name.rstrip("0123456789")  # gateway2 → gateway: replicas add up per role


# --- the fake Telegram Bot API, with a clock ---------------------------------------------------

class FakeBotAPI(FakeTelegram):
    """tests/fake_telegram.py's fake, recording when each sendMessage arrives, per chat."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.inbox: dict[int, list[tuple[float, dict]]] = defaultdict(list)
        self.signals: dict[int, asyncio.Event] = {}
        self.keep_calls = True

    async def handle(self, request: web.Request) -> web.Response:
        resp = await super().handle(request)
        # No await between the parent's append to self.calls and here: calls[-1] is this request's.
        if request.match_info["method"] == "sendMessage" and resp.status == 200:
            t = time.perf_counter()
            params = self.calls[-1][1]
            chat = int(params["chat_id"])
            self.inbox[chat].append((t, params))
            event = self.signals.get(chat)
            if event is not None:
                event.set()
        if not self.keep_calls:
            self.calls.clear()
        return resp

    async def wait_count(self, chat: int, n: int, deadline: float) -> bool:
        """Until chat has at least n sendMessages (True) or the deadline passes (False)."""
        event = self.signals.setdefault(chat, asyncio.Event())
        while len(self.inbox[chat]) < n:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                return len(self.inbox[chat]) >= n
        return True

    async def wait_quiet(self, chat: int, start: int, quiet: float, deadline: float) -> int:
        """Calibration: how many sendMessages came after `start` before `quiet` s of silence."""
        if not await self.wait_count(chat, start + 1, deadline):
            return 0
        while True:
            n = len(self.inbox[chat])
            last = self.inbox[chat][-1][0]
            await asyncio.sleep(max(0.0, last + quiet - time.perf_counter()))
            if len(self.inbox[chat]) == n:
                return n - start


def markup_buttons(params: dict, kind: str = "inline_keyboard") -> list[dict]:
    """The buttons of a sent message: inline ones (pressed: a callback query) or, with
    kind="keyboard", the reply keyboard's (pressed: their text is sent as a message)."""
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        return []
    return [b for row in markup.get(kind, []) for b in row]


# --- scripts -----------------------------------------------------------------------------------

@dataclass
class Ctx:
    rng: random.Random
    chat: Any
    last: list[dict] = field(default_factory=list)  # the previous turn's replies (sendMessage params)
    vars: dict[str, str] = field(default_factory=dict)
    first: int = 0          # the gateway of the chat's first update (several gateways: then in turn)
    posts: int = 0          # updates sent in this chat so far


Text = Union[str, Callable[[Ctx], str], None]


@dataclass
class Step:
    say: Text = None        # a typed message (text or a function of the context)
    press: Optional[str] = None  # or: the title of a button among the previous turn's replies
    expect: Text = None     # a substring of the turn's last reply
    key: Any = None         # what calibration counts replies by (default: the step's index)


@dataclass
class Script:
    """One conversation, played in a fresh chat: fixed steps, or a driver that picks the next
    step from the bot's last reply (forms whose questions may change: answer what is asked)."""
    name: str
    kind: str               # procedure | dossier | complaint | moodbot
    steps: list[Step] = field(default_factory=list)
    weight: float = 1.0
    setup: Optional[Callable[[Ctx], None]] = None
    driver: Optional[Callable[[Ctx, int], Optional[Step]]] = None
    max_steps: int = 14

    def step(self, ctx: Ctx, i: int) -> Optional[Step]:
        if self.driver is not None:
            return self.driver(ctx, i) if i < self.max_steps else None
        return self.steps[i] if i < len(self.steps) else None


def _pick(options: list[str]) -> Callable[[Ctx], str]:
    return lambda ctx: ctx.rng.choice(options)


COMPLAINTS = [
    "Đường liên thôn Gia Đẳng bị sạt lở, xe máy đi lại rất nguy hiểm",
    "Bãi rác tự phát cạnh chợ Hoài Ân bốc mùi hôi thối nhiều ngày nay",
    "duong vao truong tieu hoc bi ngap nuoc moi khi mua lon, hoc sinh di lai kho khan",
    "Đèn đường khu phố 2 bị hư cả tháng nay chưa ai sửa, buổi tối rất tối",
    "cong thoat nuoc truoc nha van hoa thon bi tac, nuoc thai chay ra duong",
]
PLACES = ["thôn Gia Đẳng, xã Ân Tường", "chợ Hoài Ân", "khu pho 2 thi tran tang bat ho", "gần UBND xã Ân Thạnh"]
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "le van cuong", "Phạm Minh Đức"]
PHONES = ["0905 123 456", "0987654321", "sdt cua toi la 0912 345 678", "0935.111.222"]
CATEGORIES = ["Hạ tầng", "Môi trường", "Đất đai", "An ninh", "Khác"]


def _dossier_setup(codes: list[tuple[str, str]]) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        code, phone = ctx.rng.choice(codes)
        ctx.vars.update(code=code, digits=phone[-4:], phone=phone)
    return setup


def _last_text(ctx: Ctx) -> str:
    return ctx.last[-1].get("text", "") if ctx.last else ""


def _has_button(ctx: Ctx, title: str) -> bool:
    return any(b.get("text", "").startswith(title) for p in ctx.last
               for b in markup_buttons(p) + markup_buttons(p, "keyboard"))


def complaint_driver(openers: list[str], anonymous: bool) -> Callable[[Ctx, int], Optional[Step]]:
    """Answers the complaint form's questions as a citizen would, whatever their order; after
    the ticket, asks its status once. Calibration counts replies per question."""

    def driver(ctx: Ctx, i: int) -> Optional[Step]:
        text = _last_text(ctx)
        if i == 0:
            return Step(_pick(openers), expect="mô tả sự việc", key="open")
        if ctx.vars.get("asked"):
            return None
        m = re.search(r"PA-\d{4}-\d{6}", text)
        if "đã được tiếp nhận với mã" in text and m:
            ctx.vars["asked"] = "1"
            return Step(f"phản ánh {m.group(0)} đến đâu rồi", expect=f"Phản ánh {m.group(0)}", key="status")
        if "Gửi phản ánh này?" in text:
            return Step(press="Gửi", expect="đã được tiếp nhận với mã PA-", key="confirm")
        if "mô tả sự việc" in text:
            return Step(_pick(COMPLAINTS), key="content")
        if "lĩnh vực nào" in text:
            return Step(press=ctx.rng.choice(CATEGORIES), key="category")
        skip = Step(press="Bỏ qua")
        if "họ tên" in text:
            return skip if anonymous else Step(_pick(NAMES), key="name")
        if "Số điện thoại" in text:
            return skip if anonymous else Step(_pick(PHONES), key="phone")
        if "ở đâu" in text:
            return skip if anonymous else Step(_pick(PLACES), key="place")
        if _has_button(ctx, "Bỏ qua"):  # another optional question (a photo, a location…)
            return skip
        ctx.vars["stuck"] = text[:120]
        return None

    def keyed(ctx: Ctx, i: int) -> Optional[Step]:
        step = driver(ctx, i)
        if step is not None and step.key is None:
            step.key = ("skip", _last_text(ctx)[:40])
        return step

    return keyed


def our_scripts(codes: list[tuple[str, str]]) -> list[Script]:
    """The citizens' mix: about half procedure questions, a quarter lookups, a quarter complaints.
    Each script is one conversation in a fresh chat, so its replies do not depend on the last."""
    dossier = _dossier_setup(codes)
    shown = lambda ctx: f"Hồ sơ {ctx.vars['code']}"  # noqa: E731
    return [
        Script("procedure: birth, papers, fee", "procedure", [
            Step(_pick(["xin chào", "/start", "chào bạn"])),
            Step(_pick(["đăng ký khai sinh cần giấy tờ gì", "dang ky khai sinh can giay to gi",
                        "làm giấy khai sinh cho con cần những gì"]), expect="khai sinh"),
            Step(_pick(["còn lệ phí thì sao", "le phi bn", "lệ phí bao nhiêu"])),
            Step(_pick(["cảm ơn", "cam on nhieu", "ok tks"])),
        ]),
        Script("procedure: land title, time, place", "procedure", [
            Step(_pick(["làm sổ đỏ mất bao lâu", "lam so do mat bao lau", "cấp sổ đỏ bn ngày thì xong"])),
            Step(_pick(["nộp hồ sơ ở đâu", "nop o dau", "nộp ở đâu v"])),
            Step(_pick(["làm online được không", "lam online dc ko"])),
        ]),
        Script("procedure: marriage, shorthand", "procedure", [
            Step(_pick(["dang ky ket hon can giay to gi", "đk kết hôn cần gì", "thủ tục kết hôn"]), expect="kết hôn"),
            Step(_pick(["mat bao lau", "bao lâu thì xong"])),
            Step(_pick(["giờ làm việc", "gio lam viec the nao", "mấy giờ mở cửa"])),
        ]),
        Script("procedure: card and a button", "procedure", [
            Step("thủ tục chuyển mục đích sử dụng đất"),
            Step(press="Giấy tờ cần có", expect="Giấy tờ cần có"),
            Step(_pick(["lý lịch tư pháp làm online được không", "ly lich tu phap lam online dc k"])),
        ]),
        Script("dossier: asked step by step", "dossier", [
            Step(_pick(["tra cứu hồ sơ", "tra cuu ho so", "kiểm tra hồ sơ của tôi"]), expect="mã hồ sơ"),
            Step(lambda ctx: ctx.rng.choice([ctx.vars["code"], "mã của tôi là " + ctx.vars["code"].lower().replace("-", " ")]),
                 expect="4 số cuối"),
            Step(lambda ctx: ctx.rng.choice([ctx.vars["digits"], f"số đt {ctx.vars['phone']}"]), expect=shown),
        ], setup=dossier),
        Script("dossier: code in the first message", "dossier", [
            Step(lambda ctx: f"kiểm tra giúp hồ sơ {ctx.vars['code']}", expect="4 số cuối"),
            Step(lambda ctx: ctx.vars["digits"], expect=shown),
        ], setup=dossier),
        Script("complaint: full form, then its status", "complaint",
               driver=complaint_driver(["tôi muốn gửi phản ánh", "toi muon gui phan anh", "gửi phản ánh kiến nghị"],
                                       anonymous=False)),
        Script("complaint: anonymous, buttons", "complaint", weight=0.5,
               driver=complaint_driver(["tôi muốn phản ánh về môi trường", "muon gui phan anh"], anonymous=True)),
    ]


def baseline_scripts() -> list[Script]:
    """moodbot conversations (rasa init's stories and rules), English."""
    return [
        Script("sad, helped", "moodbot", [Step(_pick(["hi", "hello there", "hey"])),
                                          Step(_pick(["I am sad", "not good", "my day was horrible"])),
                                          Step(_pick(["yes", "of course"]))]),
        Script("sad, not helped", "moodbot", [Step(_pick(["good morning", "hello"])),
                                              Step(_pick(["very sad", "I don't feel very well"])),
                                              Step(_pick(["no", "not really"]))]),
        Script("happy", "moodbot", [Step(_pick(["hey there", "good evening"])),
                                    Step(_pick(["I am great", "wonderful", "so good"]))]),
        Script("bot challenge", "moodbot", [Step(_pick(["are you a bot?", "am I talking to a human?"])),
                                            Step(_pick(["bye", "see you later"]))]),
    ]


def resolve(value: Text, ctx: Ctx) -> Optional[str]:
    return value(ctx) if callable(value) else value


# --- one turn, for each kind of system ---------------------------------------------------------

@dataclass
class Turn:
    ok: bool
    latency: Optional[float] = None
    wrong: bool = False
    replies: int = 0
    last_text: str = ""
    error: str = ""


class OurSystem:
    """The whole bot, through the Telegram webhook, replies read at the fake Bot API."""

    name = "ours"

    def __init__(self, bases: list[str], fake: FakeBotAPI, http: aiohttp.ClientSession, timeout: float) -> None:
        self.urls = [f"{base}/telegram/webhook" for base in bases]
        self.posts = [0] * len(self.urls)  # updates sent to each gateway
        self.fake = fake
        self.http = http
        self.timeout = timeout
        self.counts: dict[tuple[str, Any], int] = {}  # replies per (script, step), from calibration
        self.inconsistent: list[str] = []
        self._chats = itertools.count(10_000_001)

    def new_chat(self) -> int:
        return next(self._chats)

    async def turn(self, script: Script, step: Step, key: Any, ctx: Ctx, quiet: Optional[float] = None) -> Turn:
        if step.press:
            button = next((b for p in ctx.last for b in markup_buttons(p)
                           if b.get("text", "").startswith(step.press)), None)
            typed = next((b["text"] for p in ctx.last for b in markup_buttons(p, "keyboard")
                          if b.get("text", "").startswith(step.press)), None)
            if button is not None:
                update = callback_update(ctx.chat, button["callback_data"])
            elif typed is not None:
                update = text_update(ctx.chat, typed)
            else:
                titles = [b.get("text") for p in ctx.last for b in markup_buttons(p) + markup_buttons(p, "keyboard")]
                return Turn(ok=False, error=f"no button {step.press!r} among {titles}")
        else:
            update = text_update(ctx.chat, resolve(step.say, ctx))
        # Like a round-robin proxy in front of the gateways: a chat's updates alternate between
        # them, so consecutive turns of one conversation are taken in by different gateways.
        gw = (ctx.first + ctx.posts) % len(self.urls)
        ctx.posts += 1
        self.posts[gw] += 1
        start = len(self.fake.inbox[ctx.chat])
        t0 = time.perf_counter()
        deadline = t0 + self.timeout
        try:
            async with self.http.post(self.urls[gw], json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                                      timeout=aiohttp.ClientTimeout(total=self.timeout)) as r:
                await r.read()
                if r.status != 200:
                    return Turn(ok=False, error=f"webhook HTTP {r.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return Turn(ok=False, error=f"webhook {type(exc).__name__}")
        if quiet is not None:  # calibration
            n = await self.fake.wait_quiet(ctx.chat, start, quiet, deadline)
            if n == 0:
                return Turn(ok=False, error="no reply")
            previous = self.counts.setdefault((script.name, key), n)
            if previous != n:
                self.inconsistent.append(f"{script.name} step {key}: {previous} then {n} replies")
        else:
            n = self.counts.get((script.name, key))
            if n is None:
                return Turn(ok=False, error=f"step {key!r} was not seen in calibration")
            if not await self.fake.wait_count(ctx.chat, start + n, deadline):
                return Turn(ok=False, error="timeout", replies=len(self.fake.inbox[ctx.chat]) - start)
        got = self.fake.inbox[ctx.chat][start:start + n]
        ctx.last = [p for _, p in got]
        text = ctx.last[-1].get("text", "")
        expect = resolve(step.expect, ctx)
        return Turn(ok=True, latency=got[-1][0] - t0, wrong=bool(expect) and expect not in text, replies=n,
                    last_text=text)

    def extra_replies(self, chats: dict[Any, int]) -> int:
        """Replies beyond the calibrated counts, per chat that ended without error."""
        return sum(max(0, len(self.fake.inbox[c]) - n) for c, n in chats.items())


class BaselineSystem:
    """A Rasa server over its REST channel: the answer carries all the turn's replies."""

    name = "baseline"

    def __init__(self, base: str, http: aiohttp.ClientSession, timeout: float) -> None:
        self.url = f"{base}/webhooks/rest/webhook"
        self.http = http
        self.timeout = timeout
        self._chats = itertools.count(1)
        self.counts: dict = {}

    def new_chat(self) -> str:
        return f"bench-{next(self._chats)}"

    async def turn(self, script: Script, step: Step, key: Any, ctx: Ctx, quiet: Optional[float] = None) -> Turn:
        t0 = time.perf_counter()
        try:
            async with self.http.post(self.url, json={"sender": ctx.chat, "message": resolve(step.say, ctx)},
                                      timeout=aiohttp.ClientTimeout(total=self.timeout)) as r:
                body = await r.json(content_type=None) if r.status == 200 else None
                latency = time.perf_counter() - t0
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            return Turn(ok=False, error=type(exc).__name__)
        if not body:
            return Turn(ok=False, error=f"HTTP {r.status}" if body is None else "no reply")
        ctx.last = body
        text = str(body[-1].get("text", ""))
        expect = resolve(step.expect, ctx)
        return Turn(ok=True, latency=latency, replies=len(body), last_text=text, wrong=bool(expect) and expect not in text)

    def extra_replies(self, chats: dict[Any, int]) -> int:
        return 0


# --- progress ----------------------------------------------------------------------------------

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


# --- starting the systems ----------------------------------------------------------------------

async def wait_http(url: str, proc: subprocess.Popen, timeout: float, ok=lambda status, body: status == 200) -> float:
    t0 = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited with code {proc.returncode} before {url} answered")
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=3)) as r:
                    if ok(r.status, await r.text()):
                        return time.monotonic() - t0
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s")


def stop(proc: Optional[subprocess.Popen], grace: float = 30) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def bench_dossiers(n: int) -> list[tuple[str, str, str]]:
    """(code, procedure, phone) rows; codes like the one-stop system's."""
    procs = ["khai_sinh", "ket_hon", "cap_so_do", "ho_kinh_doanh", "chuyen_nhuong_dat"]
    return [(f"000.00.24.H08-2611{(i // 9999) % 30 + 1:02d}-{i % 9999 + 1:04d}", procs[i % len(procs)],
             f"09{random.Random(i).randrange(10**8):08d}") for i in range(n)]


async def create_pg(prefix: str) -> str:
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return "postgresql+asyncpg://" + PG_ADMIN.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"


async def pg_max_connections() -> int:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        return int(await conn.fetchval("SHOW max_connections"))
    finally:
        await conn.close()


async def drop_pg(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


LOCK_STORE_URL = "redis://127.0.0.1:6379/0"


def tracker_dsn(url: str) -> str:
    """A database of ours (postgresql+asyncpg://…) as RASA_TRACKER_STORE_URL wants it."""
    return "postgresql://" + url.split("://", 1)[1]


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3):
            return True
    except OSError:
        return False


def stop_all(procs: list[Optional[subprocess.Popen]], grace: float = 30) -> None:
    """SIGTERM to every process first, then wait: replicas stop together, not one after another."""
    running = [p for p in procs if p is not None and p.poll() is None]
    for p in running:
        p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in running:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


@dataclass
class Replica:
    """One `motcua serve` process of the replicas layout."""
    name: str               # gateway1, rasa2, …: the CPU figures' names
    component: str          # gateway | rasa | actions
    port: int
    env: dict[str, str]
    log: Path
    proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([sys.executable, "-m", "motcua.cli", "serve", self.component,
                                          "--port", str(self.port)], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)

    def tail(self) -> str:
        return f"--- {self.name} ({self.log})\n" + self.log.read_text(errors="replace")[-3000:]


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
        self.proc: Optional[subprocess.Popen] = None  # single: `motcua run`
        self.replicas: list[Replica] = []             # replicas: the `motcua serve` processes
        self.pg_urls: list[str] = []
        self.token = secrets.token_hex(16)
        self.port, self.rasa_port, self.action_port = free_port(), free_port(), free_port()
        self.codes: list[tuple[str, str]] = []
        self.info: dict[str, Any] = {"layout": layout, "rasa_stores": rasa_stores}
        self.command = [sys.executable, "-m", "motcua.cli", "run"]

    def _of(self, component: str) -> list[Replica]:
        return [r for r in self.replicas if r.component == component]

    @property
    def bases(self) -> list[str]:
        """The gateways the citizens' updates are sent to."""
        if self.layout == "replicas":
            return [r.url for r in self._of("gateway")]
        return [f"http://127.0.0.1:{self.port}"]

    @property
    def rasa(self) -> str:
        """The Rasa server the NLU parse latency is measured on (replicas: the first)."""
        if self.layout == "replicas":
            return self._of("rasa")[0].url
        return f"http://127.0.0.1:{self.rasa_port}"

    async def start(self) -> None:
        from motcua.cases_import import import_csv
        from motcua.settings import Settings
        from motcua.training import ensure_model, model_path

        models = Settings.from_env().models_dir
        cached = model_path(models).exists()
        t = time.monotonic()
        model = await asyncio.to_thread(ensure_model, models)
        self.info["model"] = model.name
        self.info["training_s"] = None if cached else round(time.monotonic() - t, 1)
        say(f"ours: model {model.name} ({'cached' if cached else f'trained in {time.monotonic() - t:.0f} s'})")

        if self.store == "postgresql":
            store_url, cases_url = await create_pg("motcua_load_store"), await create_pg("motcua_load_cases")
            self.pg_urls = [store_url, cases_url]
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
            tracker_url = await create_pg("motcua_load_rasa")
            self.pg_urls.append(tracker_url)
            env.update(RASA_TRACKER_STORE_URL=tracker_dsn(tracker_url), RASA_LOCK_STORE_URL=LOCK_STORE_URL)
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
        self.log = open(self.tmp / "motcua-run.log", "wb")
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        try:
            await wait_http(f"{self.bases[0]}/healthz", self.proc, 600)
        except RuntimeError:
            say("ours did not start; end of its log:\n" + (self.tmp / "motcua-run.log").read_text(errors="replace")[-3000:])
            raise

    async def _start_replicas(self, env: dict[str, str]) -> None:
        """As tests/test_scale.py's cluster and gateways: rasaN calls actionsN; every gateway
        balances across both Rasa servers; the gateways start once both Rasa have their model."""
        for n in (1, 2):
            a = Replica(f"actions{n}", "actions", free_port(), env, self.tmp / f"actions{n}.log")
            r = Replica(f"rasa{n}", "rasa", free_port(), {**env, "ACTION_ENDPOINT_URL": f"{a.url}/webhook"},
                        self.tmp / f"rasa{n}.log")
            self.replicas += [a, r]
        rasa_urls = ",".join(r.url for r in self._of("rasa"))
        for n in (1, 2):
            port = free_port()
            self.replicas.append(Replica(f"gateway{n}", "gateway", port,
                                         {**env, "PORT": str(port), "GATEWAY_ID": f"bench-gw{n}", "RASA_URLS": rasa_urls},
                                         self.tmp / f"gateway{n}.log"))
        try:
            for r in self._of("actions") + self._of("rasa"):
                r.start()
            for r in self._of("rasa"):
                await wait_http(f"{r.url}/status?token={self.token}", r.proc, 600,
                                ok=lambda s, body: s == 200 and "model_file" in body)
            for r in self._of("actions"):
                await wait_http(f"{r.url}/health", r.proc, 60)
            for r in self._of("gateway"):
                r.start()
            for r in self._of("gateway"):
                await wait_http(f"{r.url}/healthz", r.proc, 120)
        except RuntimeError:
            say("ours did not start; end of the logs:\n" + "\n".join(r.tail() for r in self.replicas if r.log.exists()))
            raise

    def pids(self) -> dict[str, int]:
        out = {"bench": os.getpid()}
        if self.layout == "replicas":
            out.update({r.name: r.proc.pid for r in self.replicas if r.proc is not None and r.proc.poll() is None})
            return out
        if self.proc is None:
            return out
        for pid in children(self.proc.pid):
            cmd = cmdline(pid)
            if "rasa_sdk" in cmd or "actions_run" in cmd:
                out["actions"] = pid
            elif "-m rasa " in cmd or "rasa_run" in cmd:
                out["rasa"] = pid
            elif "-m bot" in cmd:
                out["gateway"] = pid
        return out

    def pg_dbs(self) -> tuple[str, ...]:
        return tuple(u.rsplit("/", 1)[1] for u in self.pg_urls)

    def services(self) -> dict[str, list[int]]:
        return service_pids(self.pg_dbs(), redis=self.rasa_stores == "shared")

    async def stop(self) -> None:
        stop(self.proc)
        stop_all([r.proc for r in self.replicas])
        # motcua/rasa_run.py logs its NLU cache's hits now and then (each Rasa its own cache)
        hits = [0, 0]
        for log in [self.tmp / "motcua-run.log"] + [r.log for r in self._of("rasa")]:
            found = re.findall(r"NLU cache: (\d+) hits / (\d+) lookups", log.read_text(errors="replace")) if log.exists() else []
            if found:
                hits = [hits[0] + int(found[-1][0]), hits[1] + int(found[-1][1])]
        if hits[1]:
            self.info["nlu_cache"] = {"hits": hits[0], "lookups": hits[1]}
        # `motcua run` and `motcua serve rasa` write Rasa's endpoints file per port.
        for port in [self.rasa_port] + [r.port for r in self._of("rasa")]:
            (ROOT / "var" / f"rasa-endpoints-{port}.yml").unlink(missing_ok=True)
        urls, self.pg_urls = self.pg_urls, []
        for url in urls:
            try:
                await drop_pg(url)
            except Exception as exc:  # noqa: BLE001
                say(f"could not drop {url}: {exc}")
        shutil.rmtree(self.tmp, ignore_errors=True)


class BaselineStack:
    def __init__(self, fresh: bool) -> None:
        self.fresh = fresh
        self.proc: Optional[subprocess.Popen] = None
        self.port = free_port()
        self.dir: Optional[Path] = None
        self.tmp: Optional[Path] = None
        self.log = None
        self.info: dict[str, Any] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _rasa(self) -> str:
        return str(Path(sys.executable).parent / "rasa")

    async def prepare(self) -> None:
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
        models = sorted((BASELINE_CACHE / "models").glob("*.tar.gz")) if BASELINE_CACHE.exists() else []
        if models and not self.fresh:
            self.dir = BASELINE_CACHE
            self.info["training_s"] = None
            say(f"baseline: rasa init assistant from {BASELINE_CACHE} (trained before; --fresh-baseline for a new one)")
            return
        self.tmp = Path(tempfile.mkdtemp(prefix="rasa-init-"))
        say(f"baseline: `rasa init --no-prompt --init-dir {self.tmp}` (creates and trains moodbot, ~2 min here)…")
        t = time.monotonic()
        proc = await asyncio.create_subprocess_exec(self._rasa(), "init", "--no-prompt", "--init-dir", str(self.tmp),
                                                    cwd=self.tmp, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)
        if await proc.wait() != 0 or not list((self.tmp / "models").glob("*.tar.gz")):
            raise RuntimeError("rasa init failed")
        self.info["training_s"] = round(time.monotonic() - t, 1)
        say(f"baseline: created and trained in {self.info['training_s']} s")
        shutil.rmtree(BASELINE_CACHE, ignore_errors=True)
        shutil.copytree(self.tmp, BASELINE_CACHE)
        self.dir = self.tmp

    async def start(self) -> None:
        model = sorted((self.dir / "models").glob("*.tar.gz"))[-1]
        self.info["model"] = model.name
        self.log = open(Path(tempfile.gettempdir()) / f"rasa-baseline-{self.port}.log", "wb")
        t = time.monotonic()
        self.proc = subprocess.Popen([self._rasa(), "run", "--enable-api", "--model", str(model),
                                      "--interface", "127.0.0.1", "--port", str(self.port)], cwd=self.dir,
                                     env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        await wait_http(f"{self.base}/status", self.proc, 300, ok=lambda s, body: s == 200 and "model_file" in body)
        self.info["cold_start_s"] = round(time.monotonic() - t, 1)
        say(f"baseline: `rasa run --enable-api` ready after {self.info['cold_start_s']} s on :{self.port}")

    def pids(self) -> dict[str, int]:
        return {"bench": os.getpid(), "rasa": self.proc.pid} if self.proc else {"bench": os.getpid()}

    async def stop(self) -> None:
        stop(self.proc)
        if self.log:
            Path(self.log.name).unlink(missing_ok=True)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.log = self.tmp = None


# --- NLU parse latency, complaint writes, dossier lookups --------------------------------------

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
    from motcua.catalogue import load_catalogue
    from motcua.store import Database
    from motcua.store.complaints import file_complaint

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
        url = await create_pg("motcua_load_complaints")
        try:
            out["postgresql"].append(await complaint_writes(url, conc, total if conc > 1 else total // 4))
        finally:
            await drop_pg(url)
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


# --- profiling (optional) ----------------------------------------------------------------------

class Profiler:
    """py-spy record of each of our processes while one level runs (raw collapsed stacks)."""

    def __init__(self, py_spy: str, level: int, out: Path) -> None:
        self.py_spy, self.level, self.out = py_spy, level, out
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, pids: dict[str, int], stamp: str) -> None:
        for name, pid in pids.items():
            if name == "bench":
                continue
            path = self.out / f"profile-{stamp}-{name}-{self.level}.txt"
            self.procs.append((name, subprocess.Popen(
                [self.py_spy, "record", "-p", str(pid), "-r", "97", "--nonblocking", "-f", "raw", "-o", str(path)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), path))

    def stop(self) -> dict[str, str]:
        out = {}
        for name, proc, path in self.procs:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            out[name] = str(path)
        self.procs = []
        return out


# --- report ------------------------------------------------------------------------------------

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


CPU_ROLES = ["bench", "gateway", "rasa", "actions", "postgresql", "redis", "other", "machine"]


def cpu_table(result: dict) -> str:
    """CPU ms per turn at each level, per role; replicas add up (each one's in parentheses)."""
    rows = sorted(((key, r) for key in ("ours", "baseline") for r in result.get(key, {}).get("levels", [])),
                  key=lambda kr: (kr[1]["chats"], kr[0] != "ours"))
    seen = {role(n) for _, r in rows for n in r["cpu_ms_per_turn"]}
    roles = [x for x in CPU_ROLES if x in seen] + sorted(seen - set(CPU_ROLES))
    pg = any("pg_connections_peak" in r for _, r in rows)
    lines = ["| chats | system | " + " | ".join(roles) + " | load avg before |"
             + (" PostgreSQL connections, peak: ours / server "
                f"(max {result['machine'].get('pg_max_connections')}) |" if pg else ""),
             "|---|---|" + "---|" * len(roles) + "---|" + ("---|" if pg else "")]
    for key, r in rows:
        cells = []
        for x in roles:
            parts = [float(v) for n, v in r["cpu_ms_per_turn"].items() if role(n) == x]
            if len(parts) > 1:
                cells.append(f"{fmt(sum(parts))} ({' + '.join(fmt(v) for v in parts)})")
            else:
                cells.append(fmt(parts[0]) if parts else "–")
        c = r.get("pg_connections_peak")
        lines.append(f"| {r['chats']} | {key} | " + " | ".join(cells) + f" | {r['loadavg_before'][0]} |"
                     + ((f" {c['ours']} / {c['server']} |" if c else " – |") if pg else ""))
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


# --- main --------------------------------------------------------------------------------------

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


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
            if ours.pg_urls:
                result["machine"]["pg_max_connections"] = await pg_max_connections()
            result["ours"]["levels"] = await play_system(system, scripts, levels, args, ours.pids, "ours", profiler, stamp,
                                                         services=ours.services, pg_dbs=ours.pg_dbs())
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
        base = {r["chats"]: r for r in result["baseline"]["levels"]}
        result["ratio"] = [{"chats": r["chats"],
                            "throughput_ours_over_baseline": round(r["turns_per_s"] / base[r["chats"]]["turns_per_s"], 2)
                            if base.get(r["chats"], {}).get("turns_per_s") else None,
                            "p95_baseline_over_ours": round(base[r["chats"]]["p95_ms"] / r["p95_ms"], 2)
                            if r["p95_ms"] and base.get(r["chats"], {}).get("p95_ms") else None}
                           for r in result["ours"]["levels"]]
    out = RESULTS / f"load-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    plot(result, RESULTS / "load.png")

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
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
