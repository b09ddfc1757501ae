"""Sign-in for the officials' and admins' pages: a server-side session behind an HttpOnly cookie,
roles, and a CSRF token that every form POST must carry."""
from __future__ import annotations

import functools
import hmac
import time
from collections import defaultdict, deque
from typing import Awaitable, Callable, Optional
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import web

from bot.state import DB
from motcua.store.models import Official, WebSession
from motcua.store.officials import SESSION_HOURS, authenticate, end_session, session_official, start_session

COOKIE = "motcua_session"
FAILURES = web.AppKey("login_failures", dict)
# Failed sign-ins per username: after 5 in 15 minutes, that username waits (per gateway process).
MAX_FAILURES, FAILURE_WINDOW = 5, 15 * 60

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup(app: web.Application) -> None:
    app[FAILURES] = defaultdict(deque)


async def signed_in(request: web.Request) -> Optional[tuple[WebSession, Official]]:
    """The session and official behind the request's cookie (cached on the request)."""
    if "auth" not in request:
        async with request.app[DB].session() as session:
            request["auth"] = await session_official(session, request.cookies.get(COOKIE, ""))
    return request["auth"]


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
            request["official"], request["csrf"] = official, web_session.csrf_token
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


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:256]
    target = _safe_next(str(form.get("next", "/officials/")))
    failures = request.app[FAILURES][username.strip().lower()]
    now = time.monotonic()
    while failures and now - failures[0] > FAILURE_WINDOW:
        failures.popleft()
    official = None
    if len(failures) < MAX_FAILURES:
        async with request.app[DB].session() as session, session.begin():
            official = await authenticate(session, username, password)
            if official is not None:
                token, _ = await start_session(session, official)
    if official is None:
        failures.append(now)
        error = ("Tài khoản tạm khóa 15 phút do đăng nhập sai nhiều lần." if len(failures) > MAX_FAILURES
                 else "Tên đăng nhập hoặc mật khẩu không đúng.")
        return aiohttp_jinja2.render_template("login.html", request, {"next": target, "error": error},
                                              status=401)
    failures.clear()
    response = web.HTTPFound(target)
    response.set_cookie(COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="Lax",
                        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
                        path="/")
    raise response


@require()
async def logout(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].session() as session, session.begin():
        await end_session(session, request.cookies.get(COOKIE, ""))
    response = web.HTTPFound("/officials/login")
    response.del_cookie(COOKIE, path="/")
    raise response
