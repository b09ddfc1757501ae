"""`motcua demo seed`: demo data for the embedded databases (idempotent: upserts by key)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select

from motcua.catalogue import load_catalogue
from motcua.settings import Settings
from motcua.store import CASE_MIGRATIONS_DIR, Database
from motcua.store.cases import Dossier
from motcua.store.complaints import file_complaint
from motcua.store.models import Complaint
from motcua.store.sql import upsert

# (code suffix, procedure, status, days since received, days until due, note).
# Dates are relative to the day of seeding so that the overdue examples stay overdue.
_DEMO_DOSSIERS = [
    ("0001", "khai_sinh", "returned", 12, -11, ""),
    ("0002", "ket_hon", "done", 3, 2, "Kết quả đã có, mời anh/chị đến nhận."),
    ("0003", "cap_so_do", "processing", 10, 10, ""),
    ("0004", "cap_so_do", "processing", 30, -5, "Đang chờ kết quả đo đạc địa chính."),
    ("0005", "ho_kinh_doanh", "need_supplement", 2, 1, "Bổ sung bản sao hợp đồng thuê mặt bằng."),
    ("0006", "chuyen_nhuong_dat", "payment_required", 8, 4, "Nộp thuế thu nhập cá nhân và lệ phí trước bạ theo thông báo của cơ quan thuế."),  # noqa: E501 (data)
    ("0007", "thuong_tru", "received", 1, 6, ""),
    ("0008", "ly_lich_tu_phap", "submitted", 0, 10, ""),
    ("0009", "giay_phep_xay_dung", "refused", 4, 11, "Khu đất nằm trong quy hoạch đường giao thông."),
    ("0010", "tro_cap_xa_hoi", "paused", 15, 8, "Chờ xác minh hoàn cảnh gia đình."),
    ("0011", "chung_thuc_ban_sao", "withdrawn", 5, -4, ""),
    ("0012", "xac_nhan_hon_nhan", "processing", 6, -2, ""),
]
DEMO_AGENCY_CODE = "000.00.24.H08"
# (category, content, place) of demo complaints; filed once, by the chat id "demo:<n>".
_DEMO_COMPLAINTS = [
    ("ha_tang_giao_thong", "Đường bê tông liên thôn bị sạt lở một đoạn dài, xe máy đi lại rất nguy hiểm.", "Thôn Gia Đẳng"),
    ("moi_truong", "Rác thải sinh hoạt bị đổ ven sông nhiều ngày, bốc mùi hôi.", "Bờ sông gần cầu"),
    ("thu_tuc_thai_do", "Tôi nộp hồ sơ hai lần đều bị trả lại mà không được hướng dẫn rõ cần bổ sung gì.", ""),
    ("an_ninh_trat_tu", "Nhóm thanh niên đua xe gây ồn ào sau 23 giờ trên tuyến đường trung tâm.", "Đường trung tâm xã"),
]


def demo_dossiers(now: datetime) -> list[dict]:
    rows = []
    for i, (seq, procedure, status, since, until, note) in enumerate(_DEMO_DOSSIERS):
        received = (now - timedelta(days=since)).replace(hour=8, minute=30, second=0, microsecond=0)
        rows.append(
            {
                "code": f"{DEMO_AGENCY_CODE}-{received:%y%m%d}-{seq}",
                "procedure_id": procedure,
                "applicant_name": f"Công dân mẫu {i + 1}",
                # Demo phones: 0900 000 0xx, never a real subscriber's.
                "phone": f"09000000{i + 1:02d}",
                "received_at": received,
                "due_at": (now + timedelta(days=until)).replace(hour=17, minute=0, second=0, microsecond=0),
                "status": status,
                "agency": "Trung tâm phục vụ hành chính công xã Hoài Ân (dữ liệu mẫu)",
                "note": note,
                "updated_at": now,
            }
        )
    return rows


async def seed(settings: Settings) -> dict[str, int]:
    """Fill the embedded databases with demo data; running it again changes nothing in count."""
    cases = Database(settings.case_database_url, migrations=CASE_MIGRATIONS_DIR)
    store = Database(settings.database_url)
    try:
        await store.migrate()
        await cases.migrate()
        now = datetime.now(timezone.utc)
        # Codes embed the received date: remove the previous seeding's demo rows first.
        rows = demo_dossiers(now)
        async with cases.session() as session, session.begin():
            await session.execute(
                delete(Dossier).where(
                    Dossier.code.like(f"{DEMO_AGENCY_CODE}-%"), Dossier.applicant_name.like("Công dân mẫu %")
                ).execution_options(synchronize_session=False)
            )
            await upsert(session, Dossier.__table__, rows, key=["code"])
        locality = load_catalogue().locality
        async with store.session() as session, session.begin():
            have = await session.scalar(select(func.count()).select_from(Complaint)
                                        .where(Complaint.sender_id.like("demo:%")))
            for i, (category, content, place) in enumerate(_DEMO_COMPLAINTS[have:], start=have):
                await file_complaint(session, locality, sender_id=f"demo:{i + 1}", content=content,
                                     category=category, place=place, name="Công dân mẫu")
        return {"dossiers": len(rows), "complaints": len(_DEMO_COMPLAINTS)}
    finally:
        await cases.dispose()
        await store.dispose()
