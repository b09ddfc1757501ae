"""Formal complaints (khiếu nại) and denunciations (tố cáo).

They follow their own laws (Luật Khiếu nại 2011, Luật Tố cáo 2018), so the bot never turns them into
feedback tickets: it explains the formal route (to whom, how, what to write, the time limits), offers
ordinary feedback as the alternative, and records that it gave the guidance (FormalGuidance).
Agency names come from the locality data; nothing here names a place.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from actions.buttons import COMPLAINT_BUTTON
from motcua.catalogue import Locality, load_catalogue
from motcua.dossier_text import hotline
from motcua.store.models import FormalGuidance
from nlu.text import fold

log = logging.getLogger(__name__)

KHIEU_NAI, TO_CAO = "khieu_nai", "to_cao"
UNCLEAR = "unclear"  # the kind recorded when the citizen has not said which one yet
# The formal acts as typed, once folded (no diacritics, lower case, shorthand expanded).
_KINDS_IN_TEXT = ((KHIEU_NAI, re.compile(r"\bkh(?:ieu|iu|eu)\s?nai\b")),
                  (TO_CAO, re.compile(r"\bto\s?(?:cao|giac)\b")))

KIND_BUTTONS = [{"title": "Khiếu nại", "payload": '/formal_complaint{"formal_kind": "khieu_nai"}'},
                {"title": "Tố cáo", "payload": '/formal_complaint{"formal_kind": "to_cao"}'}]


def kind_of(value: Any) -> Optional[str]:
    """khieu_nai / to_cao from an entity value or a text in any spelling; None if neither or both."""
    text = fold(str(value or "")).replace("_", " ")
    found = {kind for kind, pattern in _KINDS_IN_TEXT if pattern.search(text)}
    return found.pop() if len(found) == 1 else None


def asked_kind(tracker: Tracker) -> str:
    """The kind the citizen asked about: from the formal_kind entities, else from the text."""
    message = tracker.latest_message or {}
    values = {str(e.get("value")) for e in message.get("entities") or [] if e.get("entity") == "formal_kind"}
    kinds = {k for v in values if (k := kind_of(v))}
    if len(kinds) == 1:
        return kinds.pop()
    if kinds:  # both named
        return UNCLEAR
    return kind_of(message.get("text")) or UNCLEAR


def _places(locality: Locality) -> tuple[str, str]:
    """(who decides for commune matters, where citizens are received in person)."""
    agency = locality.head_agency()
    if agency:
        return f"Chủ tịch {agency}", f"nơi tiếp công dân (Ban tiếp công dân) của {agency}"
    return ("Chủ tịch Ủy ban nhân dân cấp xã nơi ban hành quyết định",
            "nơi tiếp công dân (Ban tiếp công dân) của Ủy ban nhân dân cấp xã")


def khieu_nai_text(locality: Locality) -> str:
    chairman, reception = _places(locality)
    return "\n".join([
        "Khiếu nại (theo Luật Khiếu nại năm 2011) là đề nghị xem xét lại một quyết định hành chính hoặc hành vi "
        "hành chính mà anh/chị cho là trái pháp luật, xâm phạm quyền và lợi ích của mình. Khiếu nại được giải "
        "quyết theo thủ tục riêng, không gửi như một phản ánh, kiến nghị trên kênh này:",
        "• Gửi cho ai: người đã ban hành quyết định, hoặc người đứng đầu cơ quan có cán bộ thực hiện hành vi đó. "
        f"Với quyết định, hành vi của cấp xã: gửi {chairman}.",
        "• Cách gửi: nộp đơn khiếu nại bằng văn bản, có chữ ký (hoặc điểm chỉ) của anh/chị; hoặc đến trực tiếp "
        f"{reception} để trình bày, cán bộ tiếp dân ghi lại và anh/chị ký xác nhận.",
        "• Đơn ghi rõ: ngày, tháng, năm; họ tên, địa chỉ của anh/chị; tên, địa chỉ cơ quan hoặc người bị khiếu "
        "nại; nội dung, lý do khiếu nại và yêu cầu giải quyết; kèm bản sao quyết định và giấy tờ liên quan.",
        "• Thời hiệu: trong 90 ngày kể từ ngày anh/chị nhận được quyết định hoặc biết được quyết định, hành vi "
        "hành chính đó.",
        "• Thời hạn: đơn được thụ lý trong 10 ngày kể từ ngày nhận; khiếu nại lần đầu được giải quyết trong 30 "
        "ngày kể từ ngày thụ lý (vụ việc phức tạp không quá 45 ngày; ở vùng sâu, vùng xa đi lại khó khăn thì lâu "
        "hơn, đến 45 hoặc 60 ngày).",
        "• Không đồng ý với kết quả giải quyết lần đầu, anh/chị có thể khiếu nại lần hai lên cấp trên hoặc khởi "
        "kiện tại Tòa án.",
        f"Cần hỏi thêm, anh/chị vui lòng gọi đường dây nóng {hotline()}. Nếu anh/chị chỉ muốn góp ý hoặc báo một "
        "sự việc cần khắc phục, anh/chị có thể gửi phản ánh, kiến nghị ngay tại đây.",
    ])


def to_cao_text(locality: Locality) -> str:
    chairman, reception = _places(locality)
    return "\n".join([
        "Tố cáo (theo Luật Tố cáo năm 2018) là báo cho cơ quan có thẩm quyền biết hành vi vi phạm pháp luật của "
        "cán bộ, công chức hoặc của cơ quan, tổ chức, cá nhân khác. Tố cáo được giải quyết theo thủ tục riêng, "
        "không gửi như một phản ánh, kiến nghị trên kênh này:",
        "• Gửi cho ai: người đứng đầu cơ quan quản lý người bị tố cáo. Tố cáo cán bộ, công chức cấp xã: gửi "
        f"{chairman}; tố cáo chính người đứng đầu thì gửi cấp trên trực tiếp của người đó.",
        "• Cách gửi: làm đơn tố cáo bằng văn bản, có chữ ký (hoặc điểm chỉ) của anh/chị; hoặc đến trình bày "
        f"trực tiếp tại {reception}.",
        "• Đơn ghi rõ: ngày, tháng, năm; họ tên, địa chỉ và cách liên hệ với anh/chị; hành vi vi phạm bị tố cáo; "
        "người bị tố cáo và các thông tin liên quan; kèm chứng cứ, tài liệu anh/chị có.",
        "• Tố cáo nặc danh (không rõ họ tên, địa chỉ người tố cáo) không được giải quyết theo thủ tục tố cáo. Họ "
        "tên, địa chỉ, bút tích của người tố cáo được giữ bí mật theo quy định của pháp luật.",
        "• Thời hạn: giải quyết trong 30 ngày kể từ ngày thụ lý; vụ việc phức tạp được gia hạn một lần, vụ việc "
        "đặc biệt phức tạp được gia hạn hai lần, mỗi lần không quá 30 ngày.",
        "• Hành vi có dấu hiệu tội phạm (như nhận hối lộ, tham ô) anh/chị cũng có thể tố giác trực tiếp với cơ quan "
        "công an.",
        f"Cần hỏi thêm, anh/chị vui lòng gọi đường dây nóng {hotline()}. Nếu anh/chị chỉ muốn góp ý hoặc báo một "
        "sự việc cần khắc phục, anh/chị có thể gửi phản ánh, kiến nghị ngay tại đây.",
    ])


def unclear_text(locality: Locality) -> str:
    chairman, _ = _places(locality)
    return "\n".join([
        "Khiếu nại và tố cáo có thủ tục riêng theo luật, không gửi như một phản ánh, kiến nghị:",
        "• Khiếu nại: đề nghị xem xét lại quyết định hoặc hành vi hành chính ảnh hưởng đến quyền, lợi ích của "
        "chính anh/chị (ví dụ quyết định thu hồi đất, quyết định xử phạt). Làm đơn có chữ ký trong 90 ngày kể từ "
        "khi biết quyết định; giải quyết lần đầu trong 30 ngày, vụ việc phức tạp đến 45 ngày.",
        "• Tố cáo: báo hành vi vi phạm pháp luật của cán bộ hoặc người khác (ví dụ nhận hối lộ). Làm đơn ghi rõ "
        "họ tên, địa chỉ, kèm chứng cứ; giải quyết trong 30 ngày kể từ ngày thụ lý, có thể gia hạn.",
        f"Việc của cấp xã gửi {chairman}.",
        "Anh/chị muốn tìm hiểu khiếu nại hay tố cáo? Nếu chỉ muốn góp ý hoặc báo một sự việc cần khắc phục, "
        "anh/chị chọn \"Gửi phản ánh, kiến nghị\".",
    ])


class ActionFormalGuidance(Action):
    """Explains the formal route for the kind asked (both, briefly, when unclear) and records it."""

    def name(self) -> str:
        return "action_formal_guidance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        kind = asked_kind(tracker)
        locality = load_catalogue().locality
        # The guidance is the point: it is given even when it cannot be recorded.
        try:
            db = await resources.store()
            async with db.session() as session, session.begin():
                session.add(FormalGuidance(sender_id=tracker.sender_id, kind=kind))
        except Exception as exc:
            log.warning("could not record formal guidance (%s) for %s: %r", kind, tracker.sender_id, exc)
        if kind == KHIEU_NAI:
            dispatcher.utter_message(text=khieu_nai_text(locality), buttons=[COMPLAINT_BUTTON])
        elif kind == TO_CAO:
            dispatcher.utter_message(text=to_cao_text(locality), buttons=[COMPLAINT_BUTTON])
        else:
            dispatcher.utter_message(text=unclear_text(locality), buttons=[*KIND_BUTTONS, COMPLAINT_BUTTON])
        return []
