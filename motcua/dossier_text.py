"""How a dossier is described to its owner: by the lookup action, by change notifications and by
the reminder of its appointment to collect the result."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Optional

from motcua.catalogue import load_catalogue
from motcua.store.case_source import DossierView
from motcua.store.cases import STATUS_LABELS, as_utc, is_overdue
from motcua.workdays import VIETNAM

WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def _day(value: Optional[datetime]) -> str:
    return as_utc(value).astimezone(VIETNAM).strftime("%d/%m/%Y") if value else "chưa có"


def hotline() -> str:
    return load_catalogue().locality.hotline or "của bộ phận một cửa"


def collect_text(office: dict[str, Any]) -> str:
    """Where, when and with what to collect a result: the office of catalogue/locality.yml."""
    where = office.get("name") or "bộ phận một cửa"
    if office.get("address"):
        where += f", địa chỉ: {office['address']}"
    hours = "; ".join(office.get("hours") or [])
    return (f"Mời anh/chị đến nhận tại {where}, trong giờ làm việc" + (f" ({hours})" if hours else "") + "."
            " Anh/chị nhớ mang theo giấy tiếp nhận hồ sơ và hẹn trả kết quả cùng thẻ căn cước; nếu nhờ người"
            " khác nhận thay, người đó mang thêm giấy ủy quyền của anh/chị và thẻ căn cước của mình.")


def _procedure(d: DossierView) -> str:
    procedure = load_catalogue().get(d.procedure_id)
    return procedure.name if procedure else d.procedure_id


def render_dossier(d: DossierView, now: Optional[datetime] = None) -> str:
    catalogue = load_catalogue()
    office = catalogue.locality.office
    lines = [f"Hồ sơ {d.code}",
             f"Thủ tục: {_procedure(d) or 'không rõ'}",
             f"Ngày tiếp nhận: {_day(d.received_at)}",
             f"Ngày hẹn trả kết quả: {_day(d.due_at)}",
             f"Tình trạng: {STATUS_LABELS.get(d.status, d.status)}"]
    if d.agency:
        lines.append(f"Cơ quan xử lý: {d.agency}")
    note = d.note.strip()
    if d.status == "done":
        lines.append("Kết quả đã có. " + collect_text(office))
    elif d.status == "need_supplement":
        lines.append(f"Anh/chị cần bổ sung: {note or 'giấy tờ theo phiếu yêu cầu bổ sung đã gửi anh/chị'}."
                     " Sau khi bổ sung đủ, hồ sơ sẽ được tiếp tục xử lý.")
        note = ""
    elif d.status == "payment_required":
        lines.append(f"Anh/chị cần thực hiện nghĩa vụ tài chính: {note or 'theo thông báo của cơ quan thuế'}."
                     " Sau khi nộp xong, hồ sơ sẽ được tiếp tục xử lý.")
        note = ""
    elif d.status == "refused":
        lines.append(f"Lý do: {note or 'theo phiếu từ chối tiếp nhận đã gửi anh/chị'}.")
        note = ""
    if note:
        lines.append(f"Ghi chú: {note}")
    moved = d.original_due_at and d.due_at and as_utc(d.due_at) > as_utc(d.original_due_at)
    if is_overdue(d.status, d.due_at, now):
        lines.append(f"Hồ sơ đã quá hạn hẹn trả. Thay mặt bộ phận một cửa, chúng tôi thành thật xin lỗi anh/chị."
                     f" Hiện chưa có ngày hẹn mới trong hệ thống; anh/chị vui lòng gọi đường dây nóng {hotline()}"
                     " để được thông báo ngày trả kết quả.")
    elif moved and d.status not in ("done", "returned", "refused", "withdrawn"):
        lines.append(f"Hồ sơ trễ so với hẹn ban đầu ({_day(d.original_due_at)}). Thay mặt bộ phận một cửa, chúng tôi"
                     f" thành thật xin lỗi anh/chị. Ngày hẹn trả mới: {_day(d.due_at)}.")
    return "\n".join(lines)


def render_change(d: DossierView) -> str:
    # Ready to collect is the news the citizen waits for: said first, the details after.
    news = " Hồ sơ đã xử lý xong, kết quả đang chờ anh/chị đến nhận." if d.status == "done" else ""
    return f"Hồ sơ của anh/chị vừa có cập nhật.{news}\n{render_dossier(d)}"


def _due_day_words(due: date, today: date) -> str:
    # Reminded on a Friday, a Monday is not "tomorrow".
    if due == today + timedelta(days=1):
        return f"Ngày mai ({WEEKDAYS[due.weekday()]}, {due:%d/%m/%Y})"
    return f"Sau những ngày nghỉ, {WEEKDAYS[due.weekday()]} ({due:%d/%m/%Y})"


def _what_to_do(d: DossierView) -> str:
    if d.status == "done":
        return ("Kết quả đã có, anh/chị có thể đến nhận ngay, không cần chờ đến ngày hẹn. "
                + collect_text(load_catalogue().locality.office))
    if d.status == "need_supplement":
        state = "Hồ sơ đang chờ anh/chị bổ sung giấy tờ: anh/chị bổ sung sớm để có kết quả."
    elif d.status == "payment_required":
        state = "Hồ sơ đang chờ anh/chị thực hiện nghĩa vụ tài chính: anh/chị nộp sớm để có kết quả."
    else:
        state = (f"Tình trạng hiện nay: {STATUS_LABELS.get(d.status, d.status)}. Kết quả chưa có,"
                 " anh/chị chưa cần đến nhận.")
    return (state + " Ngày hẹn vẫn có thể thay đổi; khi kết quả sẵn sàng hoặc ngày hẹn thay đổi,"
            " chúng tôi sẽ báo anh/chị ngay.")


def render_reminder(d: DossierView, today: date) -> str:
    """The reminder sent the working day before the due date (`today`, Vietnam time)."""
    due = as_utc(d.due_at).astimezone(VIETNAM).date() if d.due_at else today
    procedure = f" ({_procedure(d)})" if _procedure(d) else ""
    return (f"{_due_day_words(due, today)} là ngày hẹn trả kết quả hồ sơ {d.code}{procedure}.\n"
            f"{_what_to_do(d)}\nCần hỏi thêm, anh/chị gọi đường dây nóng {hotline()}.")
