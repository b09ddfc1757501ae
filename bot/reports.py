"""The figures of /officials/reports (bot/dashboard.py's handler renders them with reports.html):
satisfaction, on-time handling and volume of complaints (all time), and how the bot was used
over a period (motcua/store/usage.py): citizen messages per day by channel, what citizens asked,
the procedures answered, the share not answered, the share handed to officials, and the median
complaint handling time."""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, Optional

from sqlalchemy.ext.asyncio import AsyncSession

from bot import charts
from motcua.catalogue import load_catalogue
from motcua.nlu_inbox import form_prompts
from motcua.store import appointments as appointment_store
from motcua.store import reports as reports_store
from motcua.store.ratings import RATING_LEVELS, satisfaction_by_agency_month
from motcua.store.usage import NEEDS, usage
from motcua.workdays import VIETNAM

log = logging.getLogger(__name__)

LEVELS = tuple(RATING_LEVELS.items())  # (level, its title), best first
PERIODS = (7, 30, 90)  # days the page offers; 30 unless asked
DEFAULT_PERIOD = 30
TOP = 10
CHANNELS = {"web": "Trang web", "telegram": "Telegram", "zalo": "Zalo", "zalo_oa": "Zalo OA"}
CHANNEL_COLORS = {"web": "#0b5394", "telegram": "#2aa3d8", "zalo": "#1e7b34", "zalo_oa": "#a15c00"}
# What citizens asked: each need's name and what is counted for it (the trace it leaves).
NEED_LABELS = {
    "ask_procedure": ("Hỏi thủ tục hành chính", "câu trả lời về một thủ tục (thẻ thủ tục hoặc một mục của nó)"),
    "check_dossier_status": ("Tra cứu hồ sơ", "lượt tra cứu theo mã hồ sơ, mọi kết quả"),
    "submit_complaint": ("Gửi phản ánh, kiến nghị", "phản ánh đã tiếp nhận (không tính phiếu bỏ dở)"),
    "check_complaint_status": ("Tra cứu phản ánh", "lượt tra cứu theo mã PA, mọi kết quả"),
    "talk_to_official": ("Gặp cán bộ", "lượt chuyển cho cán bộ trong giờ trực"),
    "formal_guidance": ("Hỏi cách khiếu nại, tố cáo", "lượt được hướng dẫn thủ tục khiếu nại, tố cáo"),
    "rate_service": ("Đánh giá mức độ hài lòng", "lượt đánh giá (đánh giá lại thay lượt cũ)"),
    "nlu_fallback": ("Trợ lý không hiểu", "tin nhắn dưới ngưỡng tin cậy của mô hình"),
}
assert set(NEED_LABELS) == set(NEEDS)
# The model's intents as officials read them (an intent not listed is shown by its name).
INTENT_LABELS = {
    "greet": "Chào hỏi", "goodbye": "Chào tạm biệt", "thank": "Cảm ơn", "affirm": "Đồng ý", "deny": "Từ chối, dừng",
    "bot_challenge": "Hỏi có phải người thật", "ask_help": "Hỏi trợ lý giúp được gì",
    "ask_procedure": "Hỏi thủ tục hành chính", "check_dossier_status": "Tra cứu hồ sơ",
    "submit_complaint": "Gửi phản ánh, kiến nghị", "check_complaint_status": "Tra cứu phản ánh",
    "talk_to_official": "Gặp cán bộ", "ask_office_info": "Hỏi giờ làm việc, địa chỉ",
    "rate_service": "Đánh giá mức độ hài lòng", "inform": "Trả lời câu hỏi của trợ lý",
    "out_of_scope": "Ngoài phạm vi", "subscribe_dossier": "Theo dõi hồ sơ", "unsubscribe_dossier": "Hủy theo dõi hồ sơ",
    "formal_complaint": "Hỏi cách khiếu nại, tố cáo", "book_appointment": "Đặt lịch hẹn",
    "cancel_appointment": "Hủy lịch hẹn", "change_appointment": "Đổi lịch hẹn",
    "nlu_fallback": "Trợ lý không hiểu",
}


@lru_cache(maxsize=1)
def _prompts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    try:
        return form_prompts()
    except Exception:  # the other dead ends are still found
        log.exception("could not read the forms' first questions from the domain")
        return (), ()


def period_of(value: str) -> int:
    return int(value) if value.isdigit() and int(value) in PERIODS else DEFAULT_PERIOD


def duration(value: Optional[timedelta]) -> str:
    """'45 phút', '5 giờ 20 phút', '3 ngày 4 giờ'."""
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} phút"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    days, hours = divmod(hours, 24)
    return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"


def share(part: int, whole: int) -> dict[str, Any]:
    """{part, whole, text}: '12,5%' (Vietnamese decimal comma), '—' when nothing to divide by."""
    text = f"{100 * part / whole:.1f}%".replace(".", ",") if whole else "—"
    return {"part": part, "whole": whole, "text": text}


def no_show_share(s: appointment_store.Summary) -> dict[str, Any]:
    """No-shows among the bookings not cancelled (the reports' card and /officials/appointments)."""
    return share(s.no_show, s.booked - s.cancelled)


async def complaint_figures(session: AsyncSession) -> dict[str, Any]:
    """Satisfaction by agency and month, on-time handling by agency, volume by category (all time)."""
    locality = load_catalogue().locality
    volume = await reports_store.volume_by_category(session)
    on_time = await reports_store.on_time_by_agency(session)
    satisfaction = await satisfaction_by_agency_month(session)
    categories = {c["id"]: c["name"] for c in locality.complaint_categories}
    volume_chart = charts.stacked_bars(
        [(categories.get(k, k), [n]) for k, n in sorted(volume.items(), key=lambda kv: -kv[1])],
        ["Số phản ánh"], title="Số phản ánh theo lĩnh vực")
    on_time_rows = []
    for agency, counts in sorted(on_time.items()):
        r = reports_store.rate(counts)
        on_time_rows.append({"agency": locality.agency_name(agency), "rate": r, **counts})
    on_time_chart = charts.stacked_bars(
        [(str(row["agency"]), [100 * float(row["rate"])]) for row in on_time_rows if row["rate"] is not None],
        ["Đúng hạn"], title="Tỷ lệ xử lý đúng hạn theo cơ quan", percent=True)
    by_agency: dict[str, Counter] = defaultdict(Counter)
    by_month: dict[str, Counter] = defaultdict(Counter)
    for rated_agency, month, level, n in satisfaction:
        by_agency[locality.agency_name(rated_agency) if rated_agency else "Chung (không gắn cơ quan)"][level] += n
        by_month[month][level] += n
    satisfaction_chart = charts.stacked_bars(
        [(name, [100 * c[k] / max(1, sum(c.values())) for k, _ in LEVELS]) for name, c in sorted(by_agency.items())],
        [label for _, label in LEVELS], title="Mức độ hài lòng theo cơ quan", percent=True)
    month_chart = charts.stacked_bars(
        [(month, [c[k] for k, _ in LEVELS]) for month, c in sorted(by_month.items())],
        [label for _, label in LEVELS], title="Số lượt đánh giá theo tháng")
    return {"volume_chart": volume_chart, "on_time_chart": on_time_chart, "on_time_rows": on_time_rows,
            "satisfaction_chart": satisfaction_chart, "month_chart": month_chart, "by_agency": by_agency,
            "levels": LEVELS, "has_ratings": bool(satisfaction), "has_complaints": bool(volume)}


async def usage_figures(session: AsyncSession, days: int, now: Optional[datetime] = None) -> dict[str, Any]:
    """How the bot was used over the last `days` days (Vietnam days, today included)."""
    now = now or datetime.now(timezone.utc)
    first_day = now.astimezone(VIETNAM).date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, time(0), VIETNAM).astimezone(timezone.utc)
    first_questions, cancelled = _prompts()
    u = await usage(session, since, now, first_questions=first_questions, cancelled=cancelled)
    handling, resolved = await reports_store.median_handling_time(session, since, now)
    appointments = await appointment_store.summary(session, since, now)  # the "Lịch hẹn" card
    catalogue = load_catalogue()

    channels = [c for c in CHANNELS if any(ch == c for _, ch in u.per_day)]
    channels += sorted({ch for _, ch in u.per_day} - set(channels))
    per_day_chart = charts.stacked_bars(
        [(day.strftime("%d/%m"), [u.per_day[(day, c)] for c in channels]) for day in reversed(u.days())],
        [CHANNELS.get(c, c) for c in channels], title="Tin nhắn của công dân theo ngày và kênh",
        colors=[CHANNEL_COLORS.get(c, "#5f6368") for c in channels], short_labels=True)
    by_channel = [(CHANNELS.get(c, c), sum(n for (_, ch), n in u.per_day.items() if ch == c)) for c in channels]

    def procedure_name(pid: str) -> str:
        entry = catalogue.get(pid) or catalogue.index.get(pid)
        return entry.name if entry is not None else pid

    asked = sorted(u.procedures.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    top_procedures = [{"name": procedure_name(pid), "conversations": n, "answers": u.procedure_answers[pid]}
                      for pid, n in asked]
    procedures_chart = charts.stacked_bars([(procedure_name(pid), [n]) for pid, n in asked],
                                           ["Cuộc trò chuyện"], title="Thủ tục được hỏi nhiều nhất")
    ranked = sorted(NEEDS, key=lambda n: (-u.needs[n], NEEDS.index(n)))
    needs = [{"id": n, "label": NEED_LABELS[n][0], "counts": NEED_LABELS[n][1], "n": u.needs[n]} for n in ranked]
    needs_chart = charts.stacked_bars([(NEED_LABELS[n][0], [u.needs[n]]) for n in ranked if u.needs[n]],
                                      ["Số lượt"], title="Công dân hỏi gì")
    typed_intents = sum(u.intents.values())
    top_intents = [{"label": INTENT_LABELS.get(name, name), "n": n, "share": share(n, typed_intents)}
                   for name, n in sorted(u.intents.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]]
    intents_chart = charts.stacked_bars([(i["label"], [i["n"]]) for i in top_intents], ["Tin nhắn"],
                                        title="Ý định mô hình nhận ra nhiều nhất")
    return {"days": days, "periods": PERIODS, "since_day": first_day, "usage": u,
            "top_intents": top_intents, "intents_chart": intents_chart, "intent_messages": typed_intents,
            "per_day_chart": per_day_chart, "by_channel": by_channel, "has_messages": bool(u.incoming),
            "needs": needs, "needs_chart": needs_chart, "has_needs": any(n["n"] for n in needs),
            "top_procedures": top_procedures, "procedures_chart": procedures_chart,
            "not_answered": share(u.not_answered, u.typed), "handed": share(u.handed, u.conversations),
            "handling": duration(handling), "resolved": resolved,
            "appointments": appointments, "no_shows": no_show_share(appointments)}
