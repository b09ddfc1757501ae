"""The officials' Telegram group against the fake Bot API: new tickets posted with buttons,
take/forward/resolve from the group, officials' replies relayed to the citizen, and the
citizen's later messages about the ticket posted back to the group."""
import itertools
import json

import pytest

from bot import officials_telegram
from bot.state import DB
from motcua.catalogue import load_catalogue
from motcua.store.complaints import by_ticket, events_of, file_complaint

from tests.support.chat import deliver
from tests.support.fake_telegram import group_callback, group_reply, text_update
from tests.support.gateway import start_gateway, telegram_settings

GROUP = -1001234567890
OFFICIAL = 555_001
_chats = itertools.count(8_100_001)


@pytest.fixture
async def tg_officials(fake_tg, rasa_servers, tmp_path):
    client = await start_gateway(telegram_settings(
        fake_tg, database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", rasa_url=rasa_servers["rasa_url"],
        case_database_url=rasa_servers["case_database_url"], dossier_watch_seconds=0, escalation_check_seconds=0,
        officials_feed_seconds=0, telegram_officials_chat_id=str(GROUP)))
    yield client, fake_tg
    await client.close()


def replied_to(params) -> int:
    """PTB 22 sends `reply_to_message_id` as the Bot API's `reply_parameters`."""
    p = params["reply_parameters"]
    return int((json.loads(p) if isinstance(p, str) else p)["message_id"])


def markup(params) -> dict:
    m = params.get("reply_markup")
    return json.loads(m) if isinstance(m, str) else (m or {})


async def test_a_ticket_goes_through_the_officials_group(tg_officials):
    client, fake = tg_officials
    app = client.server.app
    citizen = next(_chats)
    async with app[DB].session() as s, s.begin():
        c = await file_complaint(s, load_catalogue().locality, sender_id=f"telegram:{citizen}",
                                 content="Đèn đường thôn Đội Trường hỏng cả tháng nay", category="ha_tang_giao_thong",
                                 place="thôn Đội Trường", name="Lê Thị Hạnh", phone="0905777888")
        ticket = c.ticket

    # Posted once, with the three buttons and without the phone number.
    assert await officials_telegram.post_new(app) == 1
    assert await officials_telegram.post_new(app) == 0
    (post,) = fake.sent(GROUP)
    assert ticket in post["text"] and "Đèn đường" in post["text"] and "0905777888" not in post["text"]
    buttons = [b["text"] for b in markup(post)["inline_keyboard"][0]]
    assert buttons == ["Nhận xử lý", "Chuyển", "Đã xử lý"]
    async with app[DB].session() as s:
        post_id = (await by_ticket(s, ticket)).officials_post_id
    assert post_id > 0

    # Nhận xử lý: in progress, audited with the official's Telegram name, the citizen told.
    assert await deliver(client, group_callback(GROUP, OFFICIAL, f"of:take:{ticket}", post_id)) == 200
    async with app[DB].session() as s:
        c = await by_ticket(s, ticket)
        events = await events_of(s, c.id)
    assert c.status == "in_progress" and events[-1].action == "assigned" and "555001" in events[-1].actor
    assert "phân công" in fake.sent(citizen)[-1]["text"]

    # An official's reply to the post reaches the citizen.
    reply = "Chiều nay tổ điện sẽ đến thay bóng đèn."
    assert await deliver(client, group_reply(GROUP, OFFICIAL, reply, post_id, post["text"])) == 200
    assert reply in fake.sent(citizen)[-1]["text"] and ticket in fake.sent(citizen)[-1]["text"]
    assert fake.sent(GROUP)[-1]["text"] == "Đã gửi phản hồi đến công dân."

    # The citizen writes about the ticket: the group sees it under the post (and the bot answers them).
    before = len(fake.sent(citizen))
    assert await deliver(client, text_update(citizen, f"Phản ánh {ticket} đến giờ vẫn chưa thấy ai đến")) == 200
    note = fake.sent(GROUP)[-1]
    assert note["text"].startswith(f"Công dân nhắn thêm về {ticket}") and replied_to(note) == post_id
    assert len(fake.sent(citizen)) > before

    # Ordinary chatter in the group is not answered by the bot.
    group_messages = len(fake.sent(GROUP))
    chatter = text_update(GROUP, "Anh em họp lúc 2 giờ nhé")
    chatter["message"]["chat"]["type"] = "supergroup"
    assert await deliver(client, chatter) == 200
    assert len(fake.sent(GROUP)) == group_messages

    # Đã xử lý: resolved with the last reply as the result, the citizen asked to rate.
    assert await deliver(client, group_callback(GROUP, OFFICIAL, f"of:done:{ticket}", post_id)) == 200
    async with app[DB].session() as s:
        c = await by_ticket(s, ticket)
    assert c.status == "resolved"
    done = fake.sent(citizen)[-1]
    assert "xử lý xong" in done["text"] and reply in done["text"]
    assert [row[0]["text"] for row in markup(done)["inline_keyboard"]] == ["Rất hài lòng", "Hài lòng",
                                                                          "Không hài lòng"]
    # Pressing it again is refused politely (an alert on the button, nothing sent to the citizen).
    sent = len(fake.sent(citizen))
    await deliver(client, group_callback(GROUP, OFFICIAL, f"of:done:{ticket}", post_id))
    answers = [p for m, p in fake.calls if m == "answerCallbackQuery"]
    assert answers[-1].get("show_alert") in (True, "true", "True") and len(fake.sent(citizen)) == sent


async def test_forward_from_the_group(tg_officials):
    client, fake = tg_officials
    app = client.server.app
    async with app[DB].session() as s, s.begin():
        c = await file_complaint(s, load_catalogue().locality, sender_id="web:fw1",
                                 content="Tụ tập đua xe trái phép mỗi tối ở đường bờ đê", category="khac")
        ticket = c.ticket
    await officials_telegram.post_new(app)
    posted = len(fake.sent(GROUP))

    def buttons_of_the_post() -> list[str]:  # the post's buttons, as last edited
        edit = [p for m, p in fake.calls if m == "editMessageReplyMarkup"][-1]
        return [row[0]["callback_data"] for row in markup(edit)["inline_keyboard"]]

    # "Chuyển" turns the post's buttons into the agencies (an edit: nothing new in the group).
    await deliver(client, group_callback(GROUP, OFFICIAL, f"of:fwd:{ticket}"))
    assert f"of:to:{ticket}:cong_an_xa" in buttons_of_the_post() and len(fake.sent(GROUP)) == posted
    await deliver(client, group_callback(GROUP, OFFICIAL, f"of:back:{ticket}"))
    assert buttons_of_the_post() == [f"of:take:{ticket}"]  # the post's own row again
    await deliver(client, group_callback(GROUP, OFFICIAL, f"of:fwd:{ticket}"))
    await deliver(client, group_callback(GROUP, OFFICIAL, f"of:to:{ticket}:cong_an_xa"))
    async with app[DB].session() as s:
        assert (await by_ticket(s, ticket)).agency == "cong_an_xa"
    assert "Công an xã" in fake.sent(GROUP)[-1]["text"] and buttons_of_the_post() == [f"of:take:{ticket}"]


async def test_a_stranger_mentioning_a_ticket_is_not_relayed(tg_officials):
    client, fake = tg_officials
    app = client.server.app
    async with app[DB].session() as s, s.begin():
        c = await file_complaint(s, load_catalogue().locality, sender_id="web:owner1",
                                 content="Nước sinh hoạt có mùi lạ nhiều ngày", category="moi_truong")
        ticket = c.ticket
    await officials_telegram.post_new(app)
    group_messages = len(fake.sent(GROUP))
    await deliver(client, text_update(next(_chats), f"{ticket} là gì vậy"))
    assert len(fake.sent(GROUP)) == group_messages


async def test_a_handoff_through_the_officials_group(tg_officials):
    from bot import handoff
    from motcua.store import handoffs

    client, fake = tg_officials
    app = client.server.app
    citizen = next(_chats)
    async with app[DB].session() as s, s.begin():
        h = await handoffs.start(s, f"telegram:{citizen}")
    await handoff.check_once(app)
    post = fake.sent(GROUP)[-1]
    assert post["text"].startswith(f"#H{h.id} Công dân cần trao đổi")
    async with app[DB].session() as s:
        post_id = (await s.get(type(h), h.id)).officials_post_id

    # The citizen's message goes to the group, not to the bot.
    before = len(fake.sent(citizen))
    await deliver(client, text_update(citizen, "Tôi muốn hỏi về việc cấp lại sổ đỏ bị mất"))
    assert fake.sent(GROUP)[-1]["text"] == f"#H{h.id} Công dân: Tôi muốn hỏi về việc cấp lại sổ đỏ bị mất"
    assert replied_to(fake.sent(GROUP)[-1]) == post_id and len(fake.sent(citizen)) == before

    # An official answers by replying in the group.
    await deliver(client, group_reply(GROUP, OFFICIAL, "Anh/chị mang CCCD đến bộ phận một cửa nhé.", post_id,
                                      post["text"]))
    assert fake.sent(citizen)[-1]["text"] == "Cán bộ Cán bộ Lâm: Anh/chị mang CCCD đến bộ phận một cửa nhé."
    # Ended from the group's button: the citizen is told, the bot answers again.
    await deliver(client, group_callback(GROUP, OFFICIAL, f"ho:end:{h.id}", post_id))
    assert "kết thúc cuộc trò chuyện" in fake.sent(citizen)[-1]["text"]
    await deliver(client, text_update(citizen, "/start"))
    assert fake.sent(citizen)[-1]["text"].startswith("Xin chào")


async def test_a_linked_official_is_assigned_by_name(tg_officials):
    from motcua.store.officials import create_official

    client, fake = tg_officials
    app = client.server.app
    async with app[DB].session() as s, s.begin():
        official = await create_official(s, "lam.kt", "mat-khau-lam-123", agency="phong_kinh_te",
                                         full_name="Lâm Văn Tú")
        official.telegram_user_id = str(OFFICIAL)
        c = await file_complaint(s, load_catalogue().locality, sender_id="web:linked1",
                                 content="Mương thoát nước bị lấp ở thôn Phú Hữu", category="ha_tang_giao_thong")
        ticket, official_id = c.ticket, official.id
    await officials_telegram.post_new(app)
    await deliver(client, group_callback(GROUP, OFFICIAL, f"of:take:{ticket}"))
    async with app[DB].session() as s:
        c = await by_ticket(s, ticket)
        events = await events_of(s, c.id)
    assert c.assigned_to == official_id and events[-1].detail == "Lâm Văn Tú"


async def test_due_soon_and_escalation_are_told_to_the_group(tg_officials):
    from datetime import datetime

    from bot import escalation
    from motcua.workdays import VIETNAM

    client, fake = tg_officials
    app = client.server.app
    filed = datetime.now(VIETNAM).replace(year=2026, month=10, day=5, hour=9)  # Mon; deadline Mon 19 Oct
    async with app[DB].session() as s, s.begin():
        c = await file_complaint(s, load_catalogue().locality, sender_id="web:late2", now=filed,
                                 content="Ổ gà lớn giữa đường liên xã rất nguy hiểm", category="ha_tang_giao_thong")
        ticket = c.ticket
    await escalation.check_once(app, now=datetime(2026, 10, 15, 9, tzinfo=VIETNAM))
    assert fake.sent(GROUP)[-1]["text"] == f"{ticket} sắp đến hạn xử lý (Phòng Kinh tế xã Hoài Ân)."
    await escalation.check_once(app, now=datetime(2026, 10, 20, 9, tzinfo=VIETNAM))
    assert fake.sent(GROUP)[-1]["text"] == f"{ticket} đã quá hạn xử lý và được chuyển lên Ủy ban nhân dân xã Hoài Ân."


async def test_a_handoff_tag_inside_a_citizens_text_does_not_redirect_replies(tg_officials):
    """Issue 15 (low): "#H12" written by a citizen and relayed under a ticket's post must not send
    officials' replies to handoff 12: the tag is read only where the bot puts it, first."""
    from bot import handoff
    from motcua.store import handoffs

    client, fake = tg_officials
    app = client.server.app
    other, filer = next(_chats), next(_chats)
    async with app[DB].session() as s, s.begin():
        h = await handoffs.start(s, f"telegram:{other}")
        c = await file_complaint(s, load_catalogue().locality, sender_id=f"telegram:{filer}",
                                 content="Đèn đường thôn 5 hỏng", category="ha_tang_giao_thong", place="Thôn 5")
    await handoff.check_once(app)
    relayed = f"Công dân nhắn thêm về {c.ticket}:\nxem giúp #H{h.id} nhé"
    before = len(fake.sent(other))
    await deliver(client, group_reply(GROUP, OFFICIAL, "Đã tiếp nhận, sẽ sửa trong tuần.", 999_999, relayed))
    assert len(fake.sent(other)) == before
    assert "Đã tiếp nhận, sẽ sửa trong tuần." in fake.sent(filer)[-1]["text"]
