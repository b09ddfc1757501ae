"""Sign-in for the officials' and admins' pages: a server-side session behind an HttpOnly cookie,
roles, and a CSRF token that every form POST must carry."""
from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Awaitable, Callable, Optional
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import web

from bot.remote import client_address, is_https
from bot.state import DB
from motcua.store import rate_limits
from motcua.store.models import Official, WebSession
from motcua.store.officials import SESSION_HOURS, SignInBusy, authenticate, end_session, session_official, start_session

COOKIE = "motcua_session"
# Failed sign-ins, counted in the store (every gateway agrees), per username and per client address:
# 5 for one username, or 20 from one address, within 15–30 minutes lock further tries until they age out.
MAX_FAILURES, MAX_ADDRESS_FAILURES, FAILURE_WINDOW = 5, 20, 15 * 60
LOCKED = "Tài khoản tạm khóa đăng nhập do sai nhiều lần. Anh/chị vui lòng thử lại sau 15–30 phút."

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What a signed-in request carries for its handler: the official and the session's CSRF token.
AUTH = web.RequestKey[Optional[tuple[WebSession, Official]]]("auth")  # cached per request
OFFICIAL = web.RequestKey("official", Official)
CSRF = web.RequestKey("csrf", str)


async def signed_in(request: web.Request) -> Optional[tuple[WebSession, Official]]:
    """The session and official behind the request's cookie (cached on the request)."""
    if AUTH not in request:
        async with request.app[DB].session() as session:
            request[AUTH] = await session_official(session, request.cookies.get(COOKIE, ""))
    return request[AUTH]


def require(*roles: str) -> Callable[[Handler], Handler]:
    """Only signed-in officials with one of `roles` (any role if none given). A page asked for
    without a session goes to the sign-in page; a wrong role gets 403. POSTs must carry the
    session's CSRF token."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            auth = await signed_in(request)
            if auth is None:
                if request.method == "GET":
                    raise web.HTTPFound(f"/officials/login?next={quote(request.path_qs, safe='')}")
                raise web.HTTPForbidden(text="Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.")
            web_session, official = auth
            if roles and official.role not in roles:
                raise web.HTTPForbidden(text="Tài khoản của anh/chị không có quyền xem trang này.")
            if request.method == "POST":
                form = await request.post()
                given = str(form.get("csrf", "")) or request.headers.get("X-CSRF-Token", "")
                if not hmac.compare_digest(given.encode(), web_session.csrf_token.encode()):
                    raise web.HTTPForbidden(text="Yêu cầu không hợp lệ (mã CSRF). Vui lòng tải lại trang.")
            request[OFFICIAL], request[CSRF] = official, web_session.csrf_token
            return await handler(request)

        return wrapper

    return decorate


def _safe_next(target: str) -> str:
    """Only a plain path on this site. Browsers drop tabs and newlines and read "\\" as "/", so
    "/\t/evil.example" or "/\\evil.example" would leave the site: anything but a clean path goes
    to the dashboard."""
    parts = urlsplit(target)
    clean = (target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc
             and "\\" not in target and not any(ord(c) < 0x20 or ord(c) == 0x7F or c.isspace() for c in target))
    return target if clean else "/officials/"


@aiohttp_jinja2.template("login.html")
async def login_page(request: web.Request) -> dict:
    return {"next": _safe_next(request.query.get("next", "/officials/")), "error": None}


def _failure_keys(username: str, address: str) -> tuple[str, str]:
    # A hash, not the typed text: any string may be typed as a username.
    typed = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:24]
    return f"login-user:{typed}", f"login-address:{address}"


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:256]
    target = _safe_next(str(form.get("next", "/officials/")))
    user_key, address_key = _failure_keys(username, client_address(request))

    def page(error: str, status: int) -> web.Response:
        return aiohttp_jinja2.render_template("login.html", request, {"next": target, "error": error}, status=status)

    official = None
    async with request.app[DB].session() as session, session.begin():
        # While a lock holds, nothing is checked and nothing counted: failing on cannot extend it.
        if (await rate_limits.recent(session, user_key, FAILURE_WINDOW) >= MAX_FAILURES
                or await rate_limits.recent(session, address_key, FAILURE_WINDOW) >= MAX_ADDRESS_FAILURES):
            return page(LOCKED, 401)
        try:
            official = await authenticate(session, username, password)
        except SignInBusy:
            return page("Hệ thống đang bận, anh/chị vui lòng đăng nhập lại sau ít giây.", 503)
        if official is None:
            await rate_limits.add(session, user_key, FAILURE_WINDOW)
            await rate_limits.add(session, address_key, FAILURE_WINDOW)
        else:
            token, _ = await start_session(session, official)
            await rate_limits.reset(session, user_key, FAILURE_WINDOW)
    if official is None:
        return page("Tên đăng nhập hoặc mật khẩu không đúng.", 401)
    response = web.HTTPFound(target)
    response.set_cookie(COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="Lax",
                        secure=is_https(request),
                        path="/")
    raise response


@require()
async def logout(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].session() as session, session.begin():
        await end_session(session, request.cookies.get(COOKIE, ""))
    response = web.HTTPFound("/officials/login")
    response.del_cookie(COOKIE, path="/")
    raise response
