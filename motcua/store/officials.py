"""Dashboard accounts: scrypt password hashes, roles, and server-side sessions."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.cases import as_utc
from motcua.store.models import Official, WebSession

ROLES = ("official", "supervisor", "admin")
ROLE_LABELS = {"official": "Cán bộ", "supervisor": "Lãnh đạo giám sát", "admin": "Quản trị"}
SESSION_HOURS = 12
# scrypt parameters (RFC 7914 interactive): ~16 MiB, tens of milliseconds per check.
_N, _R, _P = 2 ** 14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    given = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=_N, r=_R, p=_P, dklen=32)
    return hmac.compare_digest(given.hex(), digest)


async def create_official(session: AsyncSession, username: str, password: str, *, role: str = "official",
                          agency: Optional[str] = None, full_name: str = "") -> Official:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    official = Official(username=username.strip().lower(), password_hash=hash_password(password), role=role,
                        agency=agency, full_name=full_name or username)
    session.add(official)
    await session.flush()
    return official


async def ensure_admin(session: AsyncSession, password: str) -> bool:
    """The first admin account (MOTCUA_ADMIN_PASSWORD) is created once; returns True if it was."""
    if await session.scalar(select(Official.id).where(Official.username == "admin")):
        return False
    await create_official(session, "admin", password, role="admin", full_name="Quản trị hệ thống")
    return True


# Compared against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = hash_password(secrets.token_hex(8))


# scrypt costs tens of milliseconds of CPU: it runs in these threads (hashlib releases the GIL),
# never on the event loop that serves every chat and webhook; at most HASH_QUEUE checks wait.
HASH_THREADS, HASH_QUEUE = 2, 16
_hash_pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="scrypt")
_hash_slots: dict[int, asyncio.Semaphore] = {}


class SignInBusy(Exception):
    """Too many password checks are waiting: the caller asks to try again in a moment."""


async def _verify_off_loop(password: str, stored: str) -> bool:
    loop = asyncio.get_running_loop()
    slots = _hash_slots.setdefault(id(loop), asyncio.Semaphore(HASH_QUEUE))
    if slots.locked():
        raise SignInBusy()
    async with slots:
        return await loop.run_in_executor(_hash_pool, verify_password, password, stored)


async def authenticate(session: AsyncSession, username: str, password: str) -> Optional[Official]:
    official = await session.scalar(select(Official).where(Official.username == username.strip().lower()))
    if official is None or not official.active:
        await _verify_off_loop(password, _DUMMY_HASH)  # the same time whether the account exists or not
        return None
    return official if await _verify_off_loop(password, official.password_hash) else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(session: AsyncSession, official: Official,
                        now: Optional[datetime] = None) -> tuple[str, WebSession]:
    """Returns the cookie token (only its hash is stored) and the session with its CSRF token."""
    now = now or datetime.now(timezone.utc)
    token = secrets.token_urlsafe(32)
    web_session = WebSession(token_hash=_token_hash(token), official_id=official.id,
                             csrf_token=secrets.token_urlsafe(24), created_at=now,
                             expires_at=now + timedelta(hours=SESSION_HOURS))
    session.add(web_session)
    await session.execute(delete(WebSession).where(WebSession.official_id == official.id,
                                                   WebSession.expires_at < now))
    await session.flush()
    return token, web_session


async def session_official(session: AsyncSession, token: str) -> Optional[tuple[WebSession, Official]]:
    if not token:
        return None
    row = (await session.execute(
        select(WebSession, Official).join(Official, Official.id == WebSession.official_id)
        .where(WebSession.token_hash == _token_hash(token)))).first()
    if row is None:
        return None
    web_session, official = row
    if as_utc(web_session.expires_at) < datetime.now(timezone.utc) or not official.active:
        return None
    return web_session, official


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))


async def all_accounts(session: AsyncSession) -> list[Official]:
    """Every account, active or not, by username (the admins' accounts page)."""
    return list((await session.scalars(select(Official).order_by(Official.username))).all())


async def account_taken(session: AsyncSession, username: str, telegram_user_id: Optional[str] = None) -> bool:
    """Whether an account already has this username (or, given, this linked Telegram user)."""
    column, value = ((Official.telegram_user_id, telegram_user_id) if telegram_user_id is not None
                     else (Official.username, username))
    return await session.scalar(select(Official.id).where(column == value).limit(1)) is not None


async def officials_of(session: AsyncSession, agency: Optional[str] = None) -> list[Official]:
    query = select(Official).where(Official.active).order_by(Official.full_name)
    if agency:
        query = query.where(Official.agency == agency)
    return list((await session.scalars(query)).all())
