"""Admins improve the bot (/admin/, admin role only): the NLU inbox grouped by wording, annotation
into a separate training file (duplicates and conflicts shown first), new FAQ answers, retraining
in the background with progress, the comparison with the serving model, promotion, history and
rollback. The work is done by motcua.store.nlu_inbox, motcua.nlu_inbox, motcua.admin_data and
motcua.retrain; this module only serves the pages."""
from __future__ import annotations

import logging
from typing import Optional

import aiohttp_jinja2
from aiohttp import web

from bot.auth import CSRF, OFFICIAL, require
from bot.state import DB, HTTP, SETTINGS
from motcua import admin_data
from motcua.catalogue import load_catalogue
from motcua.logs import mask_personal_data
from motcua.nlu_inbox import form_prompts, group_items, group_of
from motcua.rasa_replicas import RasaReplicas
from motcua.retrain import ACCURACY_TOLERANCE, F1_TOLERANCE, MIN_SUPPORT, Retrainer, SwapFailed, Workspace, compare_rows
from motcua.store import model_history, nlu_inbox
from motcua.store.models import ModelVersion
from motcua.store.officials import ROLE_LABELS

log = logging.getLogger(__name__)

WORKSPACE = web.AppKey("admin_workspace", Workspace)
RETRAINER = web.AppKey("retrainer", Retrainer)
MAX_EXAMPLES = 50
MIN_OVERRIDE_REASON = 10

INTENT_LABELS = {
    "ask_procedure": "Hỏi thủ tục hành chính",
    "ask_office_info": "Hỏi giờ làm việc, địa chỉ, đường dây nóng",
    "check_dossier_status": "Tra cứu hồ sơ",
    "submit_complaint": "Gửi phản ánh, kiến nghị",
    "check_complaint_status": "Hỏi tình trạng phản ánh",
    "formal_complaint": "Khiếu nại, tố cáo",
    "talk_to_official": "Muốn gặp cán bộ",
    "rate_service": "Đánh giá mức độ hài lòng",
    "subscribe_dossier": "Theo dõi hồ sơ",
    "unsubscribe_dossier": "Bỏ theo dõi hồ sơ",
    "ask_help": "Hỏi trợ lý giúp được gì",
    "bot_challenge": "Hỏi có phải người máy",
    "greet": "Chào hỏi",
    "goodbye": "Tạm biệt",
    "thank": "Cảm ơn",
    "affirm": "Đồng ý, có",
    "deny": "Không, từ chối",
    "inform": "Cung cấp thông tin (mã hồ sơ, tên thủ tục…)",
    "out_of_scope": "Ngoài phạm vi của trợ lý",
}
# Intents whose examples name a procedure.
PROCEDURE_INTENTS = ("ask_procedure", "inform")


def setup(app: web.Application) -> None:
    """Call after the resources context (the retrainer needs the database and HTTP session)."""
    app[WORKSPACE] = Workspace(models_dir=app[SETTINGS].models_dir)
    app.cleanup_ctx.append(_retrainer_ctx)


async def _retrainer_ctx(app: web.Application):
    settings = app[SETTINGS]
    app[RETRAINER] = Retrainer(app[DB], app[HTTP], RasaReplicas.from_settings(settings), settings.rasa_token, app[WORKSPACE],
                                 persistent_trackers=bool(settings.rasa_tracker_store_url),
                                 engine_python=settings.engine_python)
    yield
    await app[RETRAINER].close()


def _actor(request: web.Request) -> str:
    official = request[OFFICIAL]
    return f"{official.full_name} ({official.username})"


def _intent_label(intent: Optional[str], faq: dict[str, str]) -> str:
    if not intent:
        return "—"
    if intent in faq:
        return f"Câu hỏi thường gặp: {faq[intent][:60]}"
    return INTENT_LABELS.get(intent, intent)


def _context(request: web.Request, **values) -> dict:
    files = request.app[WORKSPACE].files
    faq = admin_data.faq_answers(files)
    return {"me": request[OFFICIAL], "csrf": request[CSRF], "role_labels": ROLE_LABELS,
            "source_labels": nlu_inbox.SOURCE_LABELS, "status_labels": model_history.STATUS_LABELS,
            "action_labels": model_history.ACTION_LABELS, "mask": mask_personal_data,
            "intent_label": lambda i: _intent_label(i, faq), **values}


def _procedures() -> dict[str, str]:
    return {p.id: p.name for p in load_catalogue().procedures.values()}


# --- the inbox ----------------------------------------------------------------------------------

async def _groups(request: web.Request):
    async with request.app[DB].session() as session, session.begin():
        try:
            first_questions, cancelled = form_prompts()
            await nlu_inbox.harvest(session, first_questions=first_questions, cancelled=cancelled)
        except Exception:  # the inbox still shows what it has
            log.exception("could not harvest unhelpful answers, handoffs and dead ends into the NLU inbox")
    async with request.app[DB].session() as session:
        items = await nlu_inbox.open_items(session)
        counts = await nlu_inbox.counts(session)
    return group_items(items), counts


async def to_inbox(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/admin/")


@require("admin")
@aiohttp_jinja2.template("admin_inbox.html")
async def inbox(request: web.Request) -> dict:
    groups, counts = await _groups(request)
    return _context(request, groups=groups[:200], total_groups=len(groups), counts=counts,
                    done=request.query.get("done"), n=request.query.get("n", ""))


def _form_texts(raw: str) -> list[str]:
    texts, seen = [], set()
    for line in (raw or "").splitlines():
        text = admin_data.clean_example(line)
        if text and text.lower() not in seen:
            seen.add(text.lower())
            texts.append(text)
    return texts[:MAX_EXAMPLES]


def _ids(raw: str) -> list[int]:
    return [int(x) for x in str(raw or "").split(",") if x.strip().isdigit()][:5000]


async def _group_page(request: web.Request, **values) -> web.Response:
    item_id = int(request.match_info["id"])
    groups, _ = await _groups(request)
    group = group_of(groups, item_id)
    if group is None:
        raise web.HTTPFound("/admin/?done=gone")
    files = request.app[WORKSPACE].files
    async with request.app[DB].session() as session:
        contexts = [(item, await nlu_inbox.context_of(session, item))
                    for item in sorted(group.items, key=lambda i: -i.id)[:3]]
    intents = [i for i in admin_data.known_intents(files)]
    suggested = next((name for name, _ in group.predicted), "")
    values.setdefault("texts", "\n".join(text for text, _ in group.variants[:MAX_EXAMPLES]))
    values.setdefault("intent", suggested)
    values.setdefault("procedure", group.procedures[0] if group.procedures else "")
    values.setdefault("wording", "")
    values.setdefault("check", None)
    values.setdefault("error", None)
    return aiohttp_jinja2.render_template("admin_group.html", request, _context(
        request, group=group, contexts=contexts, intents=intents, procedures=_procedures(),
        procedure_intents=PROCEDURE_INTENTS, ids=",".join(map(str, group.ids)), **values))


@require("admin")
async def group_page(request: web.Request) -> web.StreamResponse:
    return await _group_page(request)


@require("admin")
async def group_action(request: web.Request) -> web.StreamResponse:
    """POST /admin/nlu/{id}: action=check (show duplicates and conflicts), save, or dismiss ("bỏ qua")."""
    form = await request.post()
    action, ids = str(form.get("action", "check")), _ids(str(form.get("ids", "")))
    if action == "dismiss":
        async with request.app[DB].session() as session, session.begin():
            n = await nlu_inbox.resolve(session, ids, "dismissed", _actor(request))
        raise web.HTTPFound(f"/admin/?done=dismissed&n={n}")
    files = request.app[WORKSPACE].files
    intent, procedure = str(form.get("intent", "")), str(form.get("procedure", "")) or None
    wording, texts = str(form.get("wording", ""))[:200], _form_texts(str(form.get("texts", "")))
    values = {"texts": "\n".join(texts), "intent": intent, "procedure": procedure or "", "wording": wording}
    error = None
    if intent not in admin_data.known_intents(files):
        error = "Vui lòng chọn ý định đúng của câu."
    elif not texts:
        error = "Vui lòng giữ lại ít nhất một câu ví dụ."
    elif procedure and (procedure not in _procedures() or intent not in PROCEDURE_INTENTS):
        error = "Chỉ chọn thủ tục khi ý định là hỏi thủ tục hoặc cung cấp thông tin."
    if error:
        return await _group_page(request, error=error, **values)
    if procedure:
        missing = [t for t in texts if not admin_data.mark_entity(t, wording or admin_data.procedure_wording(
            files, t, procedure) or "", "procedure", procedure)]
        if missing and not wording:
            return await _group_page(request, error="Không tự tìm được cụm từ chỉ thủ tục trong câu: vui lòng nhập "
                                                    "cụm từ đó (ví dụ: \"giấy xác nhận độc thân\").", **values)
    check = admin_data.check(files, texts, intent)
    if action != "save" or (check.conflicts and form.get("confirm") != "1"):
        return await _group_page(request, check=check, **values)
    written = admin_data.add_examples(files, intent, texts, procedure=procedure, wording=wording)
    async with request.app[DB].session() as session, session.begin():
        await nlu_inbox.resolve(session, ids, "annotated", _actor(request), intent=intent)
    raise web.HTTPFound(f"/admin/?done=annotated&n={len(written)}")


# --- FAQ ----------------------------------------------------------------------------------------

async def _faq_page(request: web.Request, **values) -> web.Response:
    files = request.app[WORKSPACE].files
    values.setdefault("slug", "")
    values.setdefault("answer", "")
    values.setdefault("questions", "")
    values.setdefault("ids", "")
    values.setdefault("check", None)
    values.setdefault("error", None)
    return aiohttp_jinja2.render_template("admin_faq.html", request, _context(
        request, faqs=admin_data.faq_answers(files), **values))


@require("admin")
async def faq_page(request: web.Request) -> web.StreamResponse:
    values = {}
    source = request.query.get("from", "")
    if source.isdigit():
        groups, _ = await _groups(request)
        group = group_of(groups, int(source))
        if group is not None:
            values = {"questions": "\n".join(t for t, _ in group.variants[:MAX_EXAMPLES]),
                      "ids": ",".join(map(str, group.ids))}
    return await _faq_page(request, **values)


@require("admin")
async def faq_action(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    files = request.app[WORKSPACE].files
    slug, answer = str(form.get("slug", ""))[:60], str(form.get("answer", ""))[:admin_data.MAX_ANSWER_CHARS + 1]
    questions, ids = _form_texts(str(form.get("questions", ""))), str(form.get("ids", ""))
    values = {"slug": slug, "answer": answer, "questions": "\n".join(questions), "ids": ids}
    intent = admin_data.faq_intent(slug)
    check = admin_data.check(files, questions, intent)
    if form.get("action") != "save" or (check.conflicts and form.get("confirm") != "1"):
        return await _faq_page(request, check=check, **values)
    try:
        intent = admin_data.add_faq(files, slug, answer, questions)
    except admin_data.DataError as exc:
        return await _faq_page(request, check=check, error=str(exc), **values)
    async with request.app[DB].session() as session, session.begin():
        await nlu_inbox.resolve(session, _ids(ids), "annotated", _actor(request), intent=intent)
    raise web.HTTPFound("/admin/?done=faq")


# --- models: retraining, comparison, promotion, history ----------------------------------------

def _progress(run: Optional[ModelVersion]) -> dict:
    if run is None:
        return {"id": None, "status": None, "finished": True}
    return {"id": run.id, "status": run.status, "status_label": model_history.STATUS_LABELS.get(run.status, run.status),
            "progress": run.progress, "stage": run.stage, "error": run.error, "finished": run.status != "running",
            "url": f"/admin/models/{run.id}"}


@require("admin")
@aiohttp_jinja2.template("admin_models.html")
async def models_page(request: web.Request) -> dict:
    retrainer = request.app[RETRAINER]
    replicas = await retrainer.serving_names()  # each Rasa server's model (several in production mode)
    live = next((name for name in replicas.values() if name), None)
    if live:
        await retrainer.sync()
    async with request.app[DB].session() as session:
        serving = await model_history.serving(session)
        runs = await model_history.runs(session)
        events = await model_history.events(session)
        latest = await model_history.latest_run(session)
        counts = await nlu_inbox.counts(session)
        names = {r.id: r.name for r in runs}
        names |= await model_history.names(session, {e.model_id for e in events} - set(names))
    served_before = {e.model_id for e in events}
    serving_scores = None
    if serving is not None:
        model = serving[1]
        serving_scores = model.scores or next((r.baseline_scores for r in runs
                                               if r.baseline_id == model.id and r.baseline_scores), None)
    return _context(request, live=live, replicas=replicas, serving=serving, serving_scores=serving_scores, runs=runs,
                    events=events, names=names, latest=latest,
                    progress=_progress(latest), served_before=served_before, counts=counts,
                    f1_tolerance=F1_TOLERANCE, accuracy_tolerance=ACCURACY_TOLERANCE, min_support=MIN_SUPPORT,
                    error=request.query.get("error"),
                    done=request.query.get("done"))


@require("admin")
async def progress_json(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].session() as session:
        latest = await model_history.latest_run(session)
    return web.json_response(_progress(latest))


@require("admin")
async def retrain(request: web.Request) -> web.StreamResponse:
    try:
        run_id = await request.app[RETRAINER].start(_actor(request))
    except model_history.Busy:
        raise web.HTTPFound("/admin/models?error=busy")
    raise web.HTTPFound(f"/admin/models?done=started&run={run_id}")


@require("admin")
@aiohttp_jinja2.template("admin_model.html")
async def model_page(request: web.Request) -> dict:
    run_id = int(request.match_info["id"])
    async with request.app[DB].session() as session:
        run = await session.get(ModelVersion, run_id)
        if run is None:
            raise web.HTTPNotFound(text="Không tìm thấy lần huấn luyện này.")
        baseline = await session.get(ModelVersion, run.baseline_id) if run.baseline_id else None
        serving = await model_history.serving(session)
        own_events = [e for e in await model_history.events(session, limit=500) if e.model_id == run_id]
    is_serving = serving is not None and serving[1].name == run.name
    return _context(request, run=run, baseline=baseline, rows=compare_rows(run.scores, run.baseline_scores),
                    is_serving=is_serving, own_events=own_events, f1_tolerance=F1_TOLERANCE,
                    min_support=MIN_SUPPORT, error=request.query.get("error"), done=request.query.get("done"),
                    min_reason=MIN_OVERRIDE_REASON)


@require("admin")
async def model_action(request: web.Request) -> web.StreamResponse:
    """POST /admin/models/{id}/{action}: promote (a model the rule accepted whose swap failed),
    override (a rejected model, with a reason), rollback (a model that served before)."""
    run_id, action = int(request.match_info["id"]), request.match_info["action"]
    form = await request.post()
    reason = str(form.get("reason", "")).strip()[:2000]
    async with request.app[DB].session() as session:
        run = await session.get(ModelVersion, run_id)
        served_before = await model_history.served_before(session, run_id)
    if run is None or not run.name:
        raise web.HTTPNotFound(text="Không tìm thấy mô hình này.")
    allowed = {"promote": run.status == "accepted", "override": run.status == "rejected",
               "rollback": served_before}.get(action)
    if not allowed:
        raise web.HTTPBadRequest(text="Thao tác này không áp dụng cho mô hình này.")
    if action == "override" and len(reason) < MIN_OVERRIDE_REASON:
        raise web.HTTPFound(f"/admin/models/{run_id}?error=reason")
    try:
        await request.app[RETRAINER].promote(run_id, _actor(request), action, reason)
    except SwapFailed as exc:
        log.warning("swap failed: %s", exc)
        raise web.HTTPFound(f"/admin/models/{run_id}?error=swap")
    raise web.HTTPFound(f"/admin/models/{run_id}?done={action}")
