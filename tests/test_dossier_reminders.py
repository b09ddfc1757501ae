"""Dossier reminders (issue 19): a follower is told the working day before the appointment to
collect the result (a Monday's on the Friday), once per due date even with several gateways, again
when the date moves, never for a dossier already returned; and "ready to collect" says where, when
and with what. On SQLite and PostgreSQL (the store; the case database is SQLite)."""
import asyncio
import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from bot.state import CASES, DB
from bot.watcher import check_once
from motcua.cases_import import import_csv
from motcua.catalogue import load_catalogue
from motcua.dossier_text import render_reminder
from motcua.store import Database
from motcua.store.case_source import DossierView
from motcua.store.conversations import pushed_messages
from motcua.store.models import DossierSubscription
from motcua.store.subscriptions import reminding_hours, subscribe
from motcua.workdays import VIETNAM

from tests.support.gateway import make_settings, start_gateway

CODE = "000.00.24.H08-261001-0001"
OFFICE = load_catalogue().locality.office
HEADER = "code,procedure_id,applicant_name,phone,received_at,due_at,status,agency,note\n"
MONDAY = "2026-10-19"  # due Monday 19 Oct 2026: reminded on Friday 16 Oct


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VIETNAM)


class Office:
    """One or more gateways on one store, the case database, and chats following CODE."""

    def __init__(self, store_url: str, cases_url: str, tmp_path) -> None:
        self.store_url, self.cases_url, self.csv = store_url, cases_url, tmp_path / "cases.csv"
        self.gateways: list = []

    async def start(self, replicas: int = 1) -> "Office":
        settings = make_settings(database_url=self.store_url, case_database_url=self.cases_url,
                                 dossier_watch_seconds=0, escalation_check_seconds=0)
        for _ in range(replicas):  # one after another: the first migrates the store
            self.gateways.append(await start_gateway(settings))
        return self

    @property
    def app(self):
        return self.gateways[0].server.app

    async def dossier(self, status: str, due: str = MONDAY) -> None:
        """The one-stop system's export: CODE with this status and due date (17:00 Vietnam time)."""
        self.csv.write_text(HEADER + f"{CODE},ket_hon,Đặng Văn Phúc,0905006666,2026-10-01,{due},{status},UBND xã,\n",
                            encoding="utf-8")
        report = await import_csv(self.csv, self.cases_url)
        assert not report.errors

    async def follow(self, status: str, due: str = MONDAY) -> str:
        """A chat that follows CODE and was last told this status and due date; its chat id."""
        chat = str(uuid.uuid4())
        async with self.app[DB].session() as s, s.begin():
            await subscribe(s, f"web:{chat}", CODE, status, vn(*map(int, due.split("-")), 17, 0))
        return chat

    async def told(self, chat: str) -> list[str]:
        async with self.app[DB].session() as s:
            return [m.text for m in await pushed_messages(s, "web", chat, 0)]

    async def close(self) -> None:
        for gateway in self.gateways:
            await gateway.close()


@pytest.fixture
async def office(store_url, tmp_path):
    office = await Office(store_url, f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}", tmp_path).start()
    try:
        yield office
    finally:
        await office.close()


async def test_a_monday_due_date_is_reminded_on_friday_once(office):
    await office.dossier("processing")
    chat = await office.follow("processing")
    assert await check_once(office.app, now=vn(2026, 10, 15, 10, 0)) == 0  # Thursday: too early
    assert await check_once(office.app, now=vn(2026, 10, 16, 7, 30)) == 0  # Friday before 8:00
    assert await check_once(office.app, now=vn(2026, 10, 16, 8, 0)) == 1
    assert await check_once(office.app, now=vn(2026, 10, 16, 8, 1)) == 0  # not twice
    assert await check_once(office.app, now=vn(2026, 10, 16, 16, 0)) == 0
    assert await check_once(office.app, now=vn(2026, 10, 17, 9, 0)) == 0  # Saturday
    assert await check_once(office.app, now=vn(2026, 10, 19, 9, 0)) == 0  # the day itself
    (reminder,) = await office.told(chat)
    assert reminder.startswith(f"Sau những ngày nghỉ, thứ Hai (19/10/2026) là ngày hẹn trả kết quả hồ sơ {CODE}"
                               " (Đăng ký kết hôn).")
    assert "Tình trạng hiện nay: Đang xử lý" in reminder and "chưa cần đến nhận" in reminder
    assert "Ngày hẹn vẫn có thể thay đổi" in reminder and "sẽ báo anh/chị" in reminder


async def test_two_replicas_passing_at_once_remind_each_follower_once(store_url, tmp_path):
    office = await Office(store_url, f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}", tmp_path).start(replicas=2)
    try:
        await office.dossier("processing")
        chats = [await office.follow("processing") for _ in range(10)]
        for gw in office.gateways:
            # Each opens the case database first, one after the other: two replicas are two processes,
            # and Alembic's context is one per process (case_source migrates on first use).
            await gw.server.app[CASES].many([])
        friday = vn(2026, 10, 16, 9, 0)
        sent = await asyncio.gather(*(check_once(gw.server.app, now=friday) for gw in office.gateways))
        assert sum(sent) == 10
        assert [len(await office.told(chat)) for chat in chats] == [1] * 10
        assert await asyncio.gather(*(check_once(gw.server.app, now=friday) for gw in office.gateways)) == [0, 0]
    finally:
        await office.close()


async def test_a_moved_due_date_is_reminded_again(office):
    await office.dossier("processing")
    chat = await office.follow("processing")
    assert await check_once(office.app, now=vn(2026, 10, 16, 9, 0)) == 1
    # Late: the office moves the appointment to Wednesday 21 Oct (the citizen is told of the change).
    await office.dossier("processing", "2026-10-21")
    assert await check_once(office.app, now=vn(2026, 10, 19, 9, 0)) == 1
    assert await check_once(office.app, now=vn(2026, 10, 20, 9, 0)) == 1
    assert await check_once(office.app, now=vn(2026, 10, 20, 10, 0)) == 0
    first, change, second = await office.told(chat)
    assert "vừa có cập nhật" in change and "21/10/2026" in change
    assert second.startswith("Ngày mai (thứ Tư, 21/10/2026) là ngày hẹn trả kết quả hồ sơ")


@pytest.mark.parametrize("status", ["returned", "refused", "withdrawn"])
async def test_no_reminder_once_there_is_nothing_to_collect(office, status):
    await office.dossier(status)
    chat = await office.follow(status)
    assert await check_once(office.app, now=vn(2026, 10, 16, 9, 0)) == 0
    assert await office.told(chat) == []


async def test_ready_to_collect_says_where_when_and_what_to_bring(office):
    await office.dossier("processing")
    chat = await office.follow("processing")
    await office.dossier("done")
    assert await check_once(office.app, now=vn(2026, 10, 14, 9, 0)) == 1  # Wednesday: the change only
    assert await check_once(office.app, now=vn(2026, 10, 16, 9, 0)) == 1  # Friday: the reminder
    ready, reminder = await office.told(chat)
    assert ready.startswith("Hồ sơ của anh/chị vừa có cập nhật. Hồ sơ đã xử lý xong, kết quả đang chờ anh/chị đến nhận.")
    for text in (ready, reminder):
        assert OFFICE["name"] in text and OFFICE["address"] in text and OFFICE["hours"][0] in text
        assert "giấy tiếp nhận hồ sơ" in text and "thẻ căn cước" in text
    assert "có thể đến nhận ngay" in reminder and "có thể thay đổi" not in reminder


async def test_an_unfollowed_dossier_is_not_reminded(office):
    await office.dossier("processing")
    chat = await office.follow("processing")
    async with office.app[DB].session() as s, s.begin():
        sub = (await s.scalars(select(DossierSubscription))).one()
        sub.active = False
    assert await check_once(office.app, now=vn(2026, 10, 16, 9, 0)) == 0
    assert await office.told(chat) == []


def test_reminders_go_out_on_working_days_in_waking_hours():
    assert reminding_hours(vn(2026, 10, 16, 8, 0)) and reminding_hours(vn(2026, 10, 16, 19, 59))
    assert not reminding_hours(vn(2026, 10, 16, 7, 59)) and not reminding_hours(vn(2026, 10, 16, 20, 0))
    assert reminding_hours(datetime(2026, 10, 16, 1, 0, tzinfo=timezone.utc))  # 8:00 in Vietnam
    assert not reminding_hours(vn(2026, 10, 17, 9, 0))  # Saturday


def test_after_tet_the_reminder_names_the_day():
    view = DossierView(code=CODE, phone="0905006666", received_at=vn(2027, 1, 20, 9, 0),
                       due_at=vn(2027, 2, 11, 17, 0), status="need_supplement", procedure_id="khai_sinh")
    text = render_reminder(view, date(2027, 2, 3))
    assert text.startswith(f"Sau những ngày nghỉ, thứ Năm (11/02/2027) là ngày hẹn trả kết quả hồ sơ {CODE}")
    assert "bổ sung giấy tờ" in text


async def test_migration_0017_keeps_subscriptions_and_leaves_them_unreminded(db_url):
    db = Database(db_url)
    try:
        await db.migrate("0016")
        async with db.session() as s, s.begin():
            await subscribe(s, "web:a", CODE, "processing", datetime(2026, 10, 19, 10, 0, tzinfo=timezone.utc))
        await db.migrate()
        async with db.session() as s:
            sub = (await s.scalars(select(DossierSubscription))).one()
        assert (sub.code, sub.last_status, sub.active, sub.reminded_due_at) == (CODE, "processing", True, None)
    finally:
        await db.dispose()
