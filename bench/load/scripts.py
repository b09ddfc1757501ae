"""What the citizens say: conversations (scripts) of fixed steps, or driven by the bot's last reply
(the complaint form, whatever it asks next), for our bot and for the moodbot baseline."""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union


def markup_buttons(params: dict, kind: str = "inline_keyboard") -> list[dict]:
    """The buttons of a sent message: inline ones (pressed: a callback query) or, with
    kind="keyboard", the reply keyboard's (pressed: their text is sent as a message)."""
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        return []
    return [b for row in markup.get(kind, []) for b in row]



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

