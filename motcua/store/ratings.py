"""Citizen satisfaction ratings on the national public service portal's scale:
Rất hài lòng / Hài lòng / Không hài lòng, a reason required for the last.

What other parts of the system import:

- `RATING_LEVELS`: level id -> Vietnamese label, best first;
- `rating_payload(subject, ref, level)` and `rating_buttons(subject, ref)`: the button payloads
  that start (or, with a level, complete in one tap) a rating in the chat, e.g.
  `/rate_service{"rating_subject":"complaint","rating_ref":"PA-2026-000001","rating_level":"satisfied"}`;
- `record_rating(session, ...)`: one rating per chat and rated thing (a new tap replaces the old one);
- `satisfaction_by_agency_month(session, since)` and `satisfaction_summary(session, since)`: reports.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from motcua.store.cases import as_utc
from motcua.store.models import DossierLookup, Rating
from motcua.workdays import VIETNAM

# Best first: the order of the buttons and of every report.
RATING_LEVELS: dict[str, str] = {
    "very_satisfied": "Rất hài lòng",
    "satisfied": "Hài lòng",
    "unsatisfied": "Không hài lòng",
}
# What was rated: a complaint (ticket), a dossier (code), a procedure's information (id), or
# the service in general (no reference).
RATING_SUBJECTS = ("complaint", "dossier", "procedure", "service")
# Subjects for which "Không hài lòng" may be stored without a reason (a quick "was this helpful?").
REASON_OPTIONAL = frozenset({"procedure"})
INTENT = "rate_service"
MAX_REASON_CHARS = 2000


def rating_payload(subject: str, ref: str = "", level: Optional[str] = None) -> str:
    """`/rate_service{"rating_subject":…,"rating_ref":…,"rating_level":…}`, compact JSON, keys in that order;
    an empty ref or level is left out."""
    entities = {"rating_subject": subject}
    if ref:
        entities["rating_ref"] = ref
    if level:
        entities["rating_level"] = level
    return f"/{INTENT}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def rating_buttons(subject: str, ref: str) -> list[dict[str, str]]:
    """Three buttons, one per level: one tap sets subject, reference and level."""
    return [{"title": label, "payload": rating_payload(subject, ref, level)} for level, label in RATING_LEVELS.items()]


def _utc(when: datetime) -> datetime:
    """Stored and compared in UTC: SQLite keeps the wall-clock time only."""
    return as_utc(when).astimezone(timezone.utc)


def _clean_subject(subject: Optional[str]) -> str:
    return subject if subject in RATING_SUBJECTS else "service"


async def record_rating(session: AsyncSession, *, sender_id: str, level: str, subject: str = "service",
                        subject_ref: str = "", agency: Optional[str] = None, reason: str = "",
                        now: Optional[datetime] = None) -> Rating:
    """Adds (or, for the same chat and the same ticket/code/procedure, replaces) a rating; the caller commits.

    Raises ValueError for an unknown level, or "Không hài lòng" without a reason (except for subjects in
    REASON_OPTIONAL)."""
    if level not in RATING_LEVELS:
        raise ValueError(f"unknown rating level {level!r}")
    subject = _clean_subject(subject)
    subject_ref = (subject_ref or "")[:64] if subject != "service" else ""
    reason = (reason or "").strip()[:MAX_REASON_CHARS]
    if level == "unsatisfied" and not reason and subject not in REASON_OPTIONAL:
        raise ValueError("a reason is required for 'Không hài lòng'")
    now = _utc(now or datetime.now(timezone.utc))
    agency = (agency or None) and agency[:64]
    rating = None
    if subject_ref:
        rating = await session.scalar(
            select(Rating).where(Rating.sender_id == sender_id, Rating.subject == subject,
                                 Rating.subject_ref == subject_ref).order_by(Rating.id.desc()).limit(1))
    if rating is None:
        rating = Rating(sender_id=sender_id, subject=subject, subject_ref=subject_ref)
        session.add(rating)
    rating.agency, rating.level, rating.reason, rating.created_at = agency, level, reason, now
    await session.flush()
    return rating


async def has_verified_lookup(session: AsyncSession, sender_id: str, code: str) -> bool:
    """Whether this chat ever proved it owns the dossier (the lookup audit)."""
    return await session.scalar(
        select(func.count()).select_from(DossierLookup)
        .where(DossierLookup.sender_id == sender_id, DossierLookup.code == code,
               DossierLookup.outcome == "verified")) > 0


def month_of(when: datetime) -> str:
    """'YYYY-MM' in Vietnam time (a rating at 23:30 UTC on the 31st belongs to the next month)."""
    return as_utc(when).astimezone(VIETNAM).strftime("%Y-%m")


def _level_order(level: str) -> int:
    order = list(RATING_LEVELS)
    return order.index(level) if level in order else len(order)


async def satisfaction_by_agency_month(session: AsyncSession,
                                       since: Optional[datetime] = None) -> list[tuple[Optional[str], str, str, int]]:
    """(agency, 'YYYY-MM', level, count) for every combination that has ratings, months in Vietnam time.

    Ratings without an agency (the service in general, procedure information, a ticket or dossier the
    chat could not be tied to) come as agency None, after the agencies. Sorted by agency, month, level
    (best first). Months are bucketed here rather than in SQL, so SQLite and PostgreSQL agree."""
    query = select(Rating.agency, Rating.level, Rating.created_at)
    if since is not None:
        query = query.where(Rating.created_at >= _utc(since))
    counts: Counter[tuple[Optional[str], str, str]] = Counter()
    result = await session.stream(query)
    async for agency, level, created_at in result:
        counts[(agency or None, month_of(created_at), level)] += 1
    rows = [(agency, month, level, n) for (agency, month, level), n in counts.items()]
    rows.sort(key=lambda r: (r[0] is None, r[0] or "", r[1], _level_order(r[2])))
    return rows


async def satisfaction_summary(session: AsyncSession, since: Optional[datetime] = None) -> dict[str, int]:
    """level -> count, every level present (0 when none), best first."""
    query = select(Rating.level, func.count()).group_by(Rating.level)
    if since is not None:
        query = query.where(Rating.created_at >= _utc(since))
    summary = {level: 0 for level in RATING_LEVELS}
    for level, n in (await session.execute(query)).all():
        summary[level] = summary.get(level, 0) + n
    return summary
