"""The gateway's aiohttp app factory, used by `python -m bot` and by the tests."""
from __future__ import annotations

import asyncio
import codecs
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import (
    admin,
    appointments_page,
    auth,
    channels,
    dashboard,
    escalation,
    handoff,
    health,
    inbox,
    messages,
    model_server,
    officials,
    open311,
    outbox,
)
from bot.appointment_reminders import remind_once as remind_appointments
from bot.handlers import telegram, webchat, zalo, zalo_oa
from bot.periodic import every
from bot.rasa_client import RasaClient
from bot.state import CASES, DB, HTTP, RASA, RECEIPTS, SETTINGS
from bot.watcher import check_once as check_dossiers
from motcua.catalogue import load_catalogue
from motcua.rasa_replicas import RasaReplicas
from motcua.settings import Settings
from motcua.store import Database
from motcua.store.case_source import CaseSource, load_mapping
from motcua.store.cases import as_utc
from motcua.store.officials import ensure_admin
from motcua.store.receipt_writer import ReceiptWriter
from motcua.workdays import VIETNAM

log = logging.getLogger(__name__)

ROUTES = [
    web.get("/", webchat.page),
    web.post("/webchat/messages", webchat.post_message),
    web.get("/webchat/updates", webchat.get_updates),
    web.get("/healthz", health.healthz),
    web.get("/models/serving", model_server.serving),
    web.post("/telegram/webhook", telegram.webhook),
    web.post("/zalo/webhook", zalo.webhook),
    web.post("/zalo-oa/webhook", zalo_oa.webhook),
    web.get("/open311/v2/services.json", open311.services),
    web.get("/open311/v2/requests.json", open311.list_requests),
    web.post("/open311/v2/requests.json", open311.create_request),
    web.get("/open311/v2/requests/{id}.json", open311.get_request),
    web.static("/static", webchat.STATIC_DIR),
    # Officials' dashboard
    web.get("/officials/login", auth.login_page),
    web.post("/officials/login", auth.login),
    web.post("/officials/logout", auth.logout),
    web.get("/officials/", dashboard.complaint_list),
    web.get("/officials/complaints/{ticket}", dashboard.complaint_detail),
    web.get("/officials/complaints/{ticket}/photo", dashboard.complaint_photo),
    web.post("/officials/complaints/{ticket}/{action}", dashboard.complaint_action),
    web.get("/officials/reports", dashboard.reports),
    web.get("/officials/handoffs", dashboard.handoff_list),
    web.get("/officials/handoffs/{id:\\d+}", dashboard.handoff_detail),
    web.post("/officials/handoffs/{id:\\d+}/{action}", dashboard.handoff_action),
    web.get("/officials/accounts", dashboard.accounts),
    web.post("/officials/accounts", dashboard.create_account),
    web.get("/officials/appointments", appointments_page.page),
    web.post("/officials/appointments/{code}/{action}", appointments_page.act),
    # Admins improve the bot (issue 8)
    web.get("/admin", admin.to_inbox),
    web.get("/admin/", admin.inbox),
    web.get("/admin/nlu/{id:\\d+}", admin.group_page),
    web.post("/admin/nlu/{id:\\d+}", admin.group_action),
    web.get("/admin/faq", admin.faq_page),
    web.post("/admin/faq", admin.faq_action),
    web.get("/admin/models", admin.models_page),
    web.get("/admin/models/progress.json", admin.progress_json),
    web.post("/admin/models/retrain", admin.retrain),
    web.get("/admin/models/{id:\\d+}", admin.model_page),
    web.post("/admin/models/{id:\\d+}/{action:promote|override|rollback}", admin.model_action),
]
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


# On every answer: no framing by other sites, no MIME sniffing, no full URLs in Referer headers.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # aiohttp's default names itself and Python with their versions: nothing to look advisories up by.
    "Server": "motcua",
}


@web.middleware
async def security_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and errors are answers too
        exc.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


@web.middleware
async def readable_bodies(request: web.Request, handler):
    """A body declared in a charset Python does not know is a 400, not an error deep in a handler."""
    if request.can_read_body and request.charset:
        try:
            codecs.lookup(request.charset)
        except LookupError:
            return web.json_response([{"text": messages.BAD_REQUEST}], status=400)
    return await handler(request)


@web.middleware
async def no_stack_traces(request: web.Request, handler):
    """Unexpected errors are logged here and answered in Vietnamese, never with a trace."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response([{"text": messages.BUSY}], status=500)


async def _resources(app: web.Application):
    settings: Settings = app[SETTINGS]
    db = Database(settings.database_url)
    await db.migrate()
    app[DB] = db
    app[RECEIPTS] = ReceiptWriter(db)
    await app[RECEIPTS].open()
    if settings.admin_password:
        async with db.session() as session, session.begin():
            if await ensure_admin(session, settings.admin_password):
                log.info("created the first admin account (user 'admin')")
    app[CASES] = CaseSource(settings.case_database_url, load_mapping(settings.case_database_mapping))
    # One client session for every Rasa call: connection reuse is most of a turn's speed.
    connector = aiohttp.TCPConnector(limit=200, keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector) as http:
        app[HTTP] = http
        app[RASA] = RasaClient(RasaReplicas.from_settings(settings), http, settings.rasa_timeout_seconds, settings.rasa_token)
        # Before any update is accepted: other gateways must see this one alive.
        await inbox.heartbeat(app)
        await outbox.recover(app)  # before anything is sent: what this gateway's last run left in flight
        passes: list[tuple[float, Callable[[web.Application], Awaitable[Any]], str]] = [
                  (min(settings.gateway_dead_after_seconds / 4, 5.0), inbox.heartbeat_and_adopt, "inbox of silent gateways"),
                  (settings.dossier_watch_seconds, check_dossiers, "dossier watcher"),
                  (settings.dossier_watch_seconds, remind_appointments, "appointment reminders"),
                  (settings.escalation_check_seconds, escalation.check_once, "escalation"),
                  (settings.outbox_seconds, outbox.flush_once, "outbox"),
                  # handoffs: posted to the officials' group, timed out
                  (settings.officials_feed_seconds, handoff.check_once, "handoffs")]
        background = [asyncio.create_task(every(app, seconds, one_pass, what))
                      for seconds, one_pass, what in passes if seconds > 0]
        yield
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    await app[CASES].dispose()
    await app[RECEIPTS].close()
    await db.dispose()


def vn_date(value) -> str:
    return as_utc(value).astimezone(VIETNAM).strftime("%d/%m/%Y") if value else ""


def vn_datetime(value) -> str:
    return as_utc(value).astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y") if value else ""


def create_app(settings: Optional[Settings] = None) -> web.Application:
    app = web.Application(client_max_size=256 * 1024, middlewares=[security_headers, no_stack_traces, readable_bodies])
    app[SETTINGS] = settings or Settings.from_env()
    inbox.setup(app)
    channels.setup(app)
    officials.setup(app)
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True)
    env.filters.update(vn_date=vn_date, vn_datetime=vn_datetime)
    env.globals["locality"] = load_catalogue().locality
    app.cleanup_ctx.append(_resources)
    app.cleanup_ctx.append(telegram.telegram_ctx)
    app.cleanup_ctx.append(zalo.zalo_ctx)
    app.cleanup_ctx.append(zalo_oa.zalo_oa_ctx)
    admin.setup(app)
    app.add_routes(ROUTES)
    return app
