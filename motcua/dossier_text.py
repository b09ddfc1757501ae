"""How a dossier is described to its owner: by the lookup action and by change notifications."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from motcua.catalogue import load_catalogue
from motcua.store.case_source import DossierView
from motcua.store.cases import STATUS_LABELS, as_utc, is_overdue
from motcua.workdays import VIETNAM


def _day(value: Optional[datetime]) -> str:
    return as_utc(value).astimezone(VIETNAM).strftime("%d/%m/%Y") if value else "chưa có"


def hotline() -> str:
    return load_catalogue().locality.hotline or "của bộ phận một cửa"


def render_dossier(d: DossierView, now: Optional[datetime] = None) -> str:
    catalogue = load_catalogue()
    office = catalogue.locality.office
    procedure = catalogue.get(d.procedure_id)
    lines = [f"Hồ sơ {d.code}",
             f"Thủ tục: {procedure.name if procedure else d.procedure_id or 'không rõ'}",
             f"Ngày tiếp nhận: {_day(d.received_at)}",
             f"Ngày hẹn trả kết quả: {_day(d.due_at)}",
             f"Tình trạng: {STATUS_LABELS.get(d.status, d.status)}"]
    if d.agency:
        lines.append(f"Cơ quan xử lý: {d.agency}")
    note = d.note.strip()
    if d.status == "done":
        lines.append(f"Kết quả đã có. Mời anh/chị đến nhận tại {office.get('name', 'bộ phận một cửa')}"
                     + (f", {office['address']}" if office.get("address") else "")
                     + ", trong giờ làm việc: " + "; ".join(office.get("hours") or []) + "."
                     " Anh/chị nhớ mang theo giấy tiếp nhận hồ sơ và thẻ căn cước.")
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
    return f"Hồ sơ của anh/chị vừa có cập nhật.\n{render_dossier(d)}"
