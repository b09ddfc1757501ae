"""Admin pages (issue 8) without Rasa: roles, the NLU inbox (capture, harvesting, grouping,
masking), annotation into a separate file with duplicate and conflict checks, FAQ answers, the
promotion rule, and progress from Rasa's training log lines. On SQLite and PostgreSQL.

The real retraining, swap and rollback are in test_admin_retrain.py."""
import re
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from sqlalchemy import select, update

from bot import admin
from bot.state import DB
from motcua import admin_data, training
from motcua.nlu_inbox import form_prompts, group_items
from motcua.retrain import Progress, Workspace, compare_rows, decide, trainable_components
from motcua.settings import Settings
from motcua.store import Database, nlu_inbox
from motcua.store.conversations import record_message
from motcua.store.handoffs import start as start_handoff
from motcua.store.models import Message, NluInboxItem
from motcua.store.officials import create_official
from motcua.store.ratings import rating_buttons, record_rating

from tests.support.gateway import start_gateway

PASSWORD = "mat-khau-an-toan-1"


@pytest.fixture
async def site(store_url, tmp_path):
    client = await start_gateway(
        Settings(database_url=store_url, case_database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
                 dossier_watch_seconds=0, escalation_check_seconds=0, officials_feed_seconds=0,
                 rasa_url="http://127.0.0.1:9", models_dir=tmp_path / "models"),
        items={admin.WORKSPACE: Workspace(models_dir=tmp_path / "models",
                                          files=admin_data.AdminFiles.in_dir(tmp_path / "data"))})
    async with client.app[DB].session() as s, s.begin():
        await create_official(s, "quantri", PASSWORD, role="admin", full_name="Quản Trị Viên")
        await create_official(s, "canbo", PASSWORD, role="official", agency="phong_kinh_te", full_name="Cán Bộ")
        await create_official(s, "giamsat", PASSWORD, role="supervisor", full_name="Giám Sát")
    try:
        yield client
    finally:
        await client.close()


async def login(client, username) -> str:
    resp = await client.post("/officials/login", data={"username": username, "password": PASSWORD,
                                                       "next": "/officials/"}, allow_redirects=False)
    assert resp.status == 302
    page = await (await client.get("/officials/")).text()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def add(client, text, sender="web:c1", source="fallback", intent="out_of_scope", confidence=0.15, **kw):
    async with client.app[DB].session() as s, s.begin():
        return await nlu_inbox.record(s, sender_id=sender, text=text, source=source, intent=intent,
                                      confidence=confidence, **kw)


PAGES = ["/admin/", "/admin/faq", "/admin/models", "/admin/models/progress.json"]


async def test_admin_pages_need_the_admin_role(site):
    for path in PAGES:
        resp = await site.get(path, allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"].startswith("/officials/login?next=")
    resp = await site.post("/admin/models/retrain", data={}, allow_redirects=False)
    assert resp.status == 403
    for username in ("canbo", "giamsat"):
        csrf = await login(site, username)
        for path in PAGES:
            assert (await site.get(path, allow_redirects=False)).status == 403, (username, path)
        resp = await site.post("/admin/models/retrain", data={"csrf": csrf}, allow_redirects=False)
        assert resp.status == 403
        await site.post("/officials/logout", data={"csrf": csrf})
    await login(site, "quantri")
    for path in PAGES:
        assert (await site.get(path, allow_redirects=False)).status == 200, path
    # Without the CSRF token an admin's POST is refused too.
    assert (await site.post("/admin/models/retrain", data={}, allow_redirects=False)).status == 403
    assert "Cải thiện trợ lý" in await (await site.get("/officials/")).text()


async def test_inbox_masks_groups_and_sorts_by_frequency(site):
    for sender in ("web:a", "web:b", "telegram:c"):
        await add(site, "xin cái giấy chứng nhận độc thân", sender=sender, intent="ask_procedure", confidence=0.5)
    await add(site, "Xin cai giay chung nhan doc than", sender="web:d")  # same, folded
    await add(site, "xin cái giấy chứng nhận độc thân ạ", sender="web:e")  # nearly the same
    await add(site, "số em 0905123456 gọi lại giùm", sender="web:f")
    await add(site, "/ask_procedure", sender="web:g")  # a button payload is not a wording
    async with site.app[DB].session() as s:
        items = await nlu_inbox.open_items(s)
    assert len(items) == 6
    assert not any("0905123456" in i.text for i in items) and any("********56" in i.text for i in items)
    groups = group_items(items)
    assert [g.count for g in groups] == [5, 1]
    assert groups[0].predicted[0] == ("ask_procedure", 0.5)
    await login(site, "quantri")
    page = await (await site.get("/admin/")).text()
    assert page.index("xin cái giấy chứng nhận độc thân") < page.index("gọi lại giùm")
    assert "0905123456" not in page and "Độ tin cậy thấp" in page


async def test_unhelpful_answers_and_handoffs_are_harvested_once(site):
    now = datetime.now(timezone.utc)
    async with site.app[DB].session() as s, s.begin():
        # A procedure answer rated "Không hài lòng": the question before it goes to the inbox.
        await record_message(s, "web", "r1", "in", "làm giấy độc thân ở đâu vậy")
        await record_message(s, "web", "r1", "out", "Xác nhận tình trạng hôn nhân: nộp tại UBND xã…",
                             buttons=rating_buttons("procedure", "xac_nhan_hon_nhan"))
        await record_message(s, "web", "r1", "in", '/rate_service{"rating_subject":"procedure"}')
        await record_rating(s, sender_id="web:r1", level="unsatisfied", subject="procedure",
                            subject_ref="xac_nhan_hon_nhan", now=now + timedelta(seconds=1))
        # A handoff: the message before "cho tôi gặp cán bộ".
        await record_message(s, "telegram", "h1", "in", "nhà tôi bị sạt lở thì xin hỗ trợ ở đâu")
        await record_message(s, "telegram", "h1", "out", "Xin lỗi, tôi chưa hiểu ý anh/chị.")
        await record_message(s, "telegram", "h1", "in", "cho tôi gặp cán bộ")
        await start_handoff(s, "telegram:h1", now=now + timedelta(seconds=1))
        # A handoff as the very first message: nothing to learn from.
        await record_message(s, "web", "h2", "in", "gặp cán bộ")
        await start_handoff(s, "web:h2", now=now + timedelta(seconds=1))
    await login(site, "quantri")
    page = await (await site.get("/admin/")).text()
    assert "làm giấy độc thân ở đâu vậy" in page and "Bị đánh giá không hữu ích" in page
    assert "nhà tôi bị sạt lở thì xin hỗ trợ ở đâu" in page and "Dẫn đến chuyển cán bộ" in page
    await site.get("/admin/")  # harvesting again adds nothing
    async with site.app[DB].session() as s:
        counts = await nlu_inbox.counts(s)
    assert counts == {"new": 2, "skipped": 1}


async def test_dead_ends_a_confident_model_leaves_are_harvested_once(site):
    """Issue 14: a form abandoned at its first question, and a question rephrased within a minute."""
    now = datetime.now(timezone.utc)
    firsts, cancelled = form_prompts()
    (complaint_first, lookup_first), complaint_cancelled = firsts[:2], cancelled[0]

    async def say(chat, direction, text, ago):
        async with site.app[DB].session() as s, s.begin():
            message_id = await record_message(s, "web", chat, direction, text)
            await s.execute(update(Message).where(Message.id == message_id).values(created_at=now - ago))

    minute = timedelta(minutes=1)
    # A procedure question taken as a complaint, stopped at the first question.
    await say("a1", "in", "chứng thực di chúc ở xã được không", 10 * minute)
    await say("a1", "out", complaint_first, 10 * minute)
    await say("a1", "in", "không phải", 9 * minute)
    await say("a1", "out", complaint_cancelled, 9 * minute)
    # A dossier lookup nobody answered for an hour.
    await say("a2", "in", "khai báo tạm vắng thế nào", 70 * minute)
    await say("a2", "out", lookup_first, 70 * minute)
    # Asked again in other words 20 seconds after the answer.
    await say("r2", "in", "giấy phép xây nhà tạm", 5 * minute)
    await say("r2", "out", "Xin lỗi anh/chị, tôi chưa tìm thấy thủ tục này…", 5 * minute)
    await say("r2", "in", "xin giấy phép xây dựng nhà tạm", 5 * minute - timedelta(seconds=20))
    # Not dead ends: a new topic a few seconds later, a form answered at once, a late follow-up.
    await say("n1", "in", "cảm ơn nhé", 4 * minute)
    await say("n1", "out", "Dạ, không có gì ạ.", 4 * minute)
    await say("n1", "in", "giờ làm việc của xã", 4 * minute - timedelta(seconds=10))
    await say("n2", "in", "tra cứu hồ sơ", 3 * minute)
    await say("n2", "out", lookup_first, 3 * minute)
    await say("n2", "in", "000.00.24.H08-261101-0001", 3 * minute - timedelta(seconds=30))
    await say("n3", "in", "đăng ký khai sinh cần gì", 30 * minute)
    await say("n3", "out", "Giấy tờ cần có – Đăng ký khai sinh: …", 30 * minute)
    await say("n3", "in", "đăng ký khai sinh lệ phí", 20 * minute)

    await login(site, "quantri")
    page = await (await site.get("/admin/")).text()
    await site.get("/admin/")  # harvesting again adds nothing
    async with site.app[DB].session() as s:
        items = (await s.scalars(select(NluInboxItem).order_by(NluInboxItem.id))).all()
    assert sorted((i.source, i.text) for i in items) == [
        ("abandoned", "chứng thực di chúc ở xã được không"), ("abandoned", "khai báo tạm vắng thế nào"),
        ("rephrased", "giấy phép xây nhà tạm")]
    assert "Bỏ dở ngay câu hỏi đầu" in page and "Công dân hỏi lại" in page and "khai báo tạm vắng thế nào" in page


async def test_annotation_checks_conflicts_then_writes_its_own_file(site):
    files = site.app[admin.WORKSPACE].files
    item = await add(site, "xin cái giấy chứng nhận độc thân", intent="ask_procedure", confidence=0.5)
    await add(site, "xin cai giay chung nhan doc than", sender="web:z")
    csrf = await login(site, "quantri")
    page = await (await site.get(f"/admin/nlu/{item.id}")).text()
    ids = re.search(r'name="ids" value="([^"]*)"', page).group(1)
    assert len(ids.split(",")) == 2
    # A phrase that already exists under another intent is a conflict, shown before saving.
    existing = next(text for intent, text, _ in (v[0] for v in admin_data.example_index(files).values())
                    if intent == "greet")
    form = {"csrf": csrf, "ids": ids, "intent": "ask_procedure", "procedure": "xac_nhan_hon_nhan",
            "wording": "giấy chứng nhận độc thân", "texts": f"xin cái giấy chứng nhận độc thân\n{existing}"}
    page = await (await site.post(f"/admin/nlu/{item.id}", data={**form, "action": "check"})).text()
    assert "Mâu thuẫn" in page and "greet" in page
    page = await (await site.post(f"/admin/nlu/{item.id}", data={**form, "action": "save"})).text()
    assert "Mâu thuẫn" in page and not files.nlu.exists()  # not saved without confirming
    form["texts"] = "xin cái giấy chứng nhận độc thân"
    resp = await site.post(f"/admin/nlu/{item.id}", data={**form, "action": "save"}, allow_redirects=False)
    assert resp.status == 302 and "done=annotated" in resp.headers["Location"]
    data = yaml.safe_load(files.nlu.read_text(encoding="utf-8"))
    assert data["nlu"] == [{"intent": "ask_procedure", "examples":
                            '- xin cái [giấy chứng nhận độc thân]{"entity": "procedure", "value": '
                            '"xac_nhan_hon_nhan"}\n'}]
    async with site.app[DB].session() as s:
        assert await nlu_inbox.open_items(s) == []
    # Saving the same again: a duplicate, not written twice.
    check = admin_data.check(files, ["Xin cai giay chung nhan doc than"], "ask_procedure")
    assert [f.kind for f in check.findings] == ["duplicate"]
    assert admin_data.add_examples(files, "ask_procedure", ["Xin cai giay chung nhan doc than"]) == []
    # The default model inputs stay untouched; these files are in the training inputs.
    assert files.nlu in files.inputs().data_paths()
    assert training.inputs_hash(files.inputs(), admin=False) == training.inputs_hash(training.Inputs(), admin=False)


async def test_bo_qua_dismisses_and_keeps_identical_texts_hidden(site):
    item = await add(site, "alo alo có ai không")
    csrf = await login(site, "quantri")
    resp = await site.post(f"/admin/nlu/{item.id}", data={"csrf": csrf, "ids": str(item.id), "action": "dismiss"},
                           allow_redirects=False)
    assert resp.status == 302 and "done=dismissed" in resp.headers["Location"]
    later = await add(site, "Alo alo có ai không", sender="web:other")
    assert later.status == "dismissed"
    assert "alo alo" not in (await (await site.get("/admin/")).text()).lower()


async def test_a_new_faq_answer_writes_domain_rule_and_examples(site):
    files = site.app[admin.WORKSPACE].files
    csrf = await login(site, "quantri")
    form = {"csrf": csrf, "slug": "gio nghi trua", "answer": "Bộ phận một cửa nghỉ trưa từ 11 giờ 30 đến 13 giờ 30.",
            "questions": "một cửa nghỉ trưa lúc mấy giờ\nbuổi trưa có làm việc không", "action": "save"}
    resp = await site.post("/admin/faq", data=form, allow_redirects=False)
    assert resp.status == 302
    domain = yaml.safe_load(files.domain.read_text(encoding="utf-8"))
    assert domain["intents"] == ["faq_gio_nghi_trua"]
    assert domain["responses"]["utter_faq_gio_nghi_trua"][0]["text"].startswith("Bộ phận một cửa nghỉ trưa")
    rules = yaml.safe_load(files.rules.read_text(encoding="utf-8"))
    assert rules["rules"][0]["steps"] == [{"intent": "faq_gio_nghi_trua"}, {"action": "utter_faq_gio_nghi_trua"}]
    assert "faq_gio_nghi_trua" in admin_data.known_intents(files)
    # The same intent twice, or a single question, is refused with a reason in Vietnamese.
    page = await (await site.post("/admin/faq", data=form)).text()
    assert "đã có" in page
    page = await (await site.post("/admin/faq", data={**form, "slug": "khac", "questions": "chỉ một câu"})).text()
    assert "ít nhất 2" in page
    # Training reads domain.yml, the features' responses and this fragment together.
    with training.domain_argument(files.inputs()) as domain_dir:
        assert domain_dir.is_dir() and len(list(domain_dir.iterdir())) == 2 + len(training.RESPONSES)


def scores(accuracy, **f1):
    return {"accuracy": accuracy, "macro_f1": 0.9, "n": 100,
            "per_intent": {k: {"f1": v, "support": 20} for k, v in f1.items()}}


def test_the_promotion_rule():
    current = scores(0.90, greet=0.95, ask_procedure=0.90)
    assert decide(scores(0.91, greet=0.95, ask_procedure=0.92), current).ok
    assert decide(scores(0.90, greet=0.95, ask_procedure=0.90), current).ok  # equal is not worse
    assert decide(scores(0.898, greet=0.95, ask_procedure=0.90), current).ok  # two examples in a thousand
    lower = decide(scores(0.89, greet=0.95, ask_procedure=0.90), current)
    assert not lower.ok and "Độ chính xác giảm" in lower.reasons[0]
    # Better overall, but one intent falls by more than the tolerance: refused.
    hidden = decide(scores(0.92, greet=0.85, ask_procedure=0.97), current)
    assert not hidden.ok and "greet" in hidden.reasons[0]
    assert decide(scores(0.92, greet=0.91, ask_procedure=0.97), current).ok  # within 0.05
    # Intents with too few held-out examples do not count.
    small = {**current, "per_intent": {**current["per_intent"], "rare": {"f1": 1.0, "support": 2}}}
    assert decide(scores(0.90, greet=0.95, ask_procedure=0.90, rare=0.0), small).ok
    assert not decide(scores(0.99), None).ok
    rows = compare_rows(scores(0.9, greet=0.8), current)
    assert rows[1] == {"intent": "greet", "support": 20, "old": 0.95, "new": 0.8, "delta": pytest.approx(-0.15)}


def test_progress_follows_rasa_training_log_lines():
    assert trainable_components(training.CONFIG) == 9
    p = Progress(9)
    assert p.feed('@@ {"event": "start"}')[0] == 2
    assert p.feed("INFO rasa.cli.train - Started validating domain and training data...")[0] == 5
    assert "RegexFeaturizer" in p.feed("INFO rasa.engine.training.hooks - Starting to train component 'RegexFeaturizer'.")[1]
    p.feed("INFO rasa.engine.training.hooks - Finished training component 'RegexFeaturizer'.")
    for _ in range(8):
        pct, stage = p.feed("INFO rasa.engine.training.hooks - Restored component 'RulePolicy' from cache.")
    assert pct == 75 and "9/9" in stage
    assert p.feed('@@ {"event": "eval", "model": "current", "done": 350, "total": 700}') == (
        92, "Đang đánh giá mô hình đang chạy (350/700)")
    assert p.feed("some warning") is None


async def test_migration_0009_on_both_databases(db_url):
    db = Database(db_url)
    try:
        await db.migrate()
        async with db.session() as s, s.begin():
            item = await nlu_inbox.record(s, sender_id="web:x", text="thử nghiệm", intent="greet", confidence=0.1,
                                          ranking=[["greet", 0.1]])
        async with db.session() as s:
            assert (await s.get(NluInboxItem, item.id)).ranking == [["greet", 0.1]]
    finally:
        await db.dispose()


def test_motcua_run_keeps_the_promoted_model_until_developers_change_the_data(tmp_path):
    files = admin_data.AdminFiles.in_dir(tmp_path / "data")
    models = tmp_path / "models"
    models.mkdir()
    (models / "motcua-promoted.tar.gz").write_bytes(b"model")
    training.write_active(models, "motcua-promoted.tar.gz", files.inputs())
    assert training.active_model(models, files.inputs()) == models / "motcua-promoted.tar.gz"
    # Admins annotate more (a candidate the rule refused, say): the promoted model still serves.
    admin_data.add_examples(files, "greet", ["chào buổi sáng cả nhà"])
    assert training.active_model(models, files.inputs()) == models / "motcua-promoted.tar.gz"
    # A developer changes the config: the model for the new data is trained and served instead.
    config = tmp_path / "config.yml"
    config.write_text(training.CONFIG.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    changed = training.Inputs(config=config).with_admin_files(files.nlu, files.rules, files.domain)
    assert training.active_model(models, changed) is None
