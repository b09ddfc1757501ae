"""The officials' dashboard (/officials/): the complaint list with filters, one complaint with
its conversation and audit log, the actions on it, reports, and accounts for admins."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Optional
from urllib.parse import urlencode

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from bot import complaint_workflow as workflow
from bot import handoff
from bot.auth import CSRF, OFFICIAL, require
from bot.handlers.zalo import photo_url
from bot.reports import complaint_figures, period_of, usage_figures
from bot.state import DB, HTTP, SETTINGS, TELEGRAM
from motcua.catalogue import load_catalogue
from motcua.store import complaints as store
from motcua.store import handoffs as handoff_store
from motcua.store.cases import as_utc
from motcua.store.conversations import recent_messages
from motcua.store.models import Complaint, Handoff, Official
from motcua.store.officials import ROLE_LABELS, ROLES, account_taken, all_accounts, create_official, officials_of

log = logging.getLogger(__name__)
PAGE_SIZE = 25
MAX_TEXT = 4000
# A photo fetched from a URL (Zalo's): its size cap, time limit, and the types served as they are
# (served from our own origin, an HTML or SVG "photo" could run script, so nothing else).
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_TIMEOUT = aiohttp.ClientTimeout(total=20)
PHOTO_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/heic", "image/heif"}
NO_PHOTO = "Không có ảnh."
PHOTO_GONE = "Ảnh không còn trên máy chủ của Zalo (đường dẫn có thể đã hết hạn)."
PHOTO_FAILED = "Chưa tải được ảnh từ Zalo, vui lòng thử lại sau."


def _context(request: web.Request, **values) -> dict:
    locality = load_catalogue().locality
    return {"me": request[OFFICIAL], "csrf": request[CSRF], "locality": locality,
            "agency_name": locality.agency_name, "role_labels": ROLE_LABELS,
            "status_labels": store.STATUS_LABELS, "action_labels": store.ACTION_LABELS,
            "categories": {c["id"]: c["name"] for c in locality.complaint_categories},
            "now": datetime.now(timezone.utc), "as_utc": as_utc, **values}


def _own_agency(official: Official) -> Optional[str]:
    """An agency's official sees only that agency's tickets (and those escalated to it)."""
    return official.agency if official.role == "official" else None


@require()
@aiohttp_jinja2.template("complaints.html")
async def complaint_list(request: web.Request) -> dict:
    q = request.query
    page = max(1, int(q["page"])) if q.get("page", "").isdigit() else 1
    status = q.get("status") if q.get("status") in store.STATUS_LABELS else None
    f = store.ComplaintFilter(status=status, agency=_own_agency(request[OFFICIAL]) or (q.get("agency") or None),
                              category=q.get("category") or None, overdue=q.get("overdue") == "1",
                              query=q.get("q", "")[:100])
    async with request.app[DB].session() as session:
        rows, total = await store.search_complaints(session, f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    def request_query(n: int) -> str:
        return urlencode({**{k: v for k, v in q.items() if k != "page"}, "page": n})

    return _context(request, complaints=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                    filters=f, is_late=store.is_late, request_query=request_query)


async def _complaint_for(request: web.Request, session) -> Complaint:
    complaint = await store.by_ticket(session, request.match_info["ticket"])
    own = _own_agency(request[OFFICIAL])
    if complaint is None or (own and own not in (complaint.agency, complaint.escalated_to)):
        raise web.HTTPNotFound(text="Không tìm thấy phản ánh này.")
    return complaint


@require()
@aiohttp_jinja2.template("complaint.html")
async def complaint_detail(request: web.Request) -> dict:
    async with request.app[DB].session() as session:
        complaint = await _complaint_for(request, session)
        events = await store.events_of(session, complaint.id)
        channel, _, chat_id = complaint.sender_id.partition(":")
        conversation = await recent_messages(session, channel, chat_id, limit=100) if chat_id else []
        assignable = await officials_of(session, complaint.agency)
        assignee = await session.get(Official, complaint.assigned_to) if complaint.assigned_to else None
    return _context(request, c=complaint, events=events, conversation=conversation, assignable=assignable,
                    assignee=assignee, late=store.is_late(complaint), channel=channel,
                    agencies=load_catalogue().locality.agencies, done=request.query.get("done"))


@require()
async def complaint_photo(request: web.Request) -> web.Response:
    """The citizen's photo, fetched from the channel it was sent on (it is not copied to our disk)."""
    async with request.app[DB].session() as session:
        complaint = await _complaint_for(request, session)
    channel, _, file_id = (complaint.photo or "").partition(":")
    if channel == "telegram" and TELEGRAM in request.app:
        return await _telegram_photo(request.app, file_id)
    url = photo_url(request.app[SETTINGS], complaint.photo or "") if channel in ("zalo", "zalo_oa") else None
    if url is None:
        raise web.HTTPNotFound(text=NO_PHOTO)
    body, content_type = await _web_photo(request.app[HTTP], url)
    return web.Response(body=body, content_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


async def _telegram_photo(app: web.Application, file_id: str) -> web.Response:
    try:
        file = await app[TELEGRAM].get_file(file_id)
        data = await file.download_as_bytearray()
    except Exception:
        log.exception("could not fetch a complaint photo from Telegram")
        raise web.HTTPBadGateway(text="Chưa tải được ảnh từ Telegram, vui lòng thử lại sau.")
    return web.Response(body=bytes(data), content_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600"})


async def _web_photo(http: aiohttp.ClientSession, url: str) -> tuple[bytes, str]:
    """The image at a Zalo photo URL and its content type: 404 when Zalo no longer has it, 502 when
    it cannot be had now or is not an image of at most PHOTO_MAX_BYTES."""
    try:
        async with http.get(url, timeout=PHOTO_TIMEOUT, max_redirects=3) as resp:
            if resp.status in (403, 404, 410):
                raise web.HTTPNotFound(text=PHOTO_GONE)
            if resp.status != 200 or resp.content_type not in PHOTO_TYPES:
                raise ValueError(f"HTTP {resp.status}, {resp.content_type}")
            return await _read_capped(resp), resp.content_type
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("could not fetch a complaint photo from Zalo (%s)", exc)
        raise web.HTTPBadGateway(text=PHOTO_FAILED)


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    """The body, refused past PHOTO_MAX_BYTES (counted as read: a length header can lie)."""
    if (resp.content_length or 0) > PHOTO_MAX_BYTES:
        raise ValueError(f"{resp.content_length} bytes")
    body = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > PHOTO_MAX_BYTES:
            raise ValueError(f"more than {PHOTO_MAX_BYTES} bytes")
    return bytes(body)


def _text(form, name: str, required: bool = True) -> str:
    value = str(form.get(name, "")).strip()[:MAX_TEXT]
    if required and not value:
        raise web.HTTPBadRequest(text="Vui lòng nhập nội dung.")
    return value


@require()
async def complaint_action(request: web.Request) -> web.StreamResponse:
    """POST /officials/complaints/{ticket}/{action}: assign, reply, resolve, reopen or forward."""
    action, official = request.match_info["action"], request[OFFICIAL]
    form = await request.post()
    own = _own_agency(official)
    assignee = form.get("official_id", "")
    try:
        done = await workflow.act(
            request.app, request.match_info["ticket"], action, f"{official.full_name} ({official.username})",
            text=str(form.get({"reply": "text", "resolve": "note", "reopen": "reason"}.get(action, ""), "")),
            assignee_id=int(str(assignee)) if str(assignee).isdigit() else None, agency=str(form.get("agency", "")),
            may_see=lambda c: not own or own in (c.agency, c.escalated_to))
    except LookupError:
        raise web.HTTPNotFound(text="Không tìm thấy phản ánh này.")
    except workflow.Refused as refused:
        raise web.HTTPBadRequest(text=str(refused))
    if action == "forward" and own and own != done.agency:
        raise web.HTTPFound("/officials/?done=forward")  # no longer theirs to see
    raise web.HTTPFound(f"/officials/complaints/{done.ticket}?done={action}")


@require("admin")
@aiohttp_jinja2.template("accounts.html")
async def accounts(request: web.Request) -> dict:
    async with request.app[DB].session() as session:
        people = await all_accounts(session)
    return _context(request, people=people, roles=ROLES, agencies=load_catalogue().locality.agencies,
                    error=request.query.get("error"), done=request.query.get("done"))


@require("admin")
async def create_account(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username, password = str(form.get("username", "")).strip().lower(), str(form.get("password", ""))
    role, agency = str(form.get("role", "")), str(form.get("agency", "")) or None
    if not username.replace(".", "").replace("_", "").isalnum() or len(username) > 64:
        raise web.HTTPFound("/officials/accounts?error=username")
    if len(password) < 10:
        raise web.HTTPFound("/officials/accounts?error=password")
    if role not in ROLES or (role == "official" and not agency):
        raise web.HTTPFound("/officials/accounts?error=role")
    async with request.app[DB].session() as session, session.begin():
        if await account_taken(session, username):
            raise web.HTTPFound("/officials/accounts?error=exists")
        official = await create_official(session, username, password, role=role, agency=agency,
                                         full_name=_text(form, "full_name", required=False)[:200] or username)
        telegram_id = str(form.get("telegram_user_id", "")).strip()
        if telegram_id.isdigit():  # links their Telegram account: "Nhận xử lý" in the group assigns them
            if await account_taken(session, username, telegram_user_id=telegram_id):
                raise web.HTTPFound("/officials/accounts?error=telegram")
            official.telegram_user_id = telegram_id
    raise web.HTTPFound("/officials/accounts?done=1")


@require("supervisor", "admin", "official")
@aiohttp_jinja2.template("reports.html")
async def reports(request: web.Request) -> dict:
    """Complaints (satisfaction, on-time handling, volume) and how the bot was used over ?days=."""
    days = period_of(request.query.get("days", ""))
    async with request.app[DB].session() as session:
        figures = {**await complaint_figures(session), **await usage_figures(session, days)}
    return _context(request, **figures)


# --- handoffs: officials talking with citizens ----------------------------------------------------

# The citizen's "gặp cán bộ" is stored a moment before the handoff starts: shown with it.
HANDOFF_CONTEXT = timedelta(seconds=5)


def _answers_chats(official: Official) -> bool:
    """Handoffs follow the tickets' rule: an official sees those of their agency (the locality's
    handoff agency); supervisors and admins see every one."""
    return official.role != "official" or official.agency == load_catalogue().locality.handoff_agency


async def _open_handoff(session, request: web.Request) -> Handoff:
    """The open handoff of the URL, if this official may see it; else 404 (ended ones are closed)."""
    h = await session.get(Handoff, int(request.match_info["id"]))
    if h is None or h.status == "ended" or not _answers_chats(request[OFFICIAL]):
        raise web.HTTPNotFound(text="Không tìm thấy cuộc trò chuyện này.")
    return h


@require()
@aiohttp_jinja2.template("handoffs.html")
async def handoff_list(request: web.Request) -> dict:
    rows = []
    if _answers_chats(request[OFFICIAL]):
        async with request.app[DB].session() as session:
            rows = await handoff_store.list_open(session)
    return _context(request, handoffs=rows)


@require()
@aiohttp_jinja2.template("handoff.html")
async def handoff_detail(request: web.Request) -> dict:
    async with request.app[DB].session() as session:
        h = await _open_handoff(session, request)
        channel, _, chat_id = h.sender_id.partition(":")
        # Only the conversation since the citizen asked for a person: not their dossier lookups before.
        conversation = await recent_messages(session, channel, chat_id, limit=100,
                                             since=as_utc(h.created_at) - HANDOFF_CONTEXT)
    return _context(request, h=h, channel=channel, conversation=conversation, done=request.query.get("done"))


@require()
async def handoff_action(request: web.Request) -> web.StreamResponse:
    handoff_id, action, official = int(request.match_info["id"]), request.match_info["action"], request[OFFICIAL]
    async with request.app[DB].session() as session:
        await _open_handoff(session, request)
    form = await request.post()
    if action == "send":
        text = _text(form, "text")
        if not await handoff.official_says(request.app, handoff_id, official.full_name, text):
            raise web.HTTPBadRequest(text="Cuộc trò chuyện đã kết thúc.")
    elif action == "end":
        await handoff.end(request.app, handoff_id, f"{official.full_name} ({official.username})")
    else:
        raise web.HTTPNotFound()
    raise web.HTTPFound(f"/officials/handoffs/{handoff_id}?done={action}")
