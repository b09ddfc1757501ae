"""Satisfaction ratings in the store, on SQLite and PostgreSQL: recording and the report queries."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from motcua.store.lookups import record_lookup
from motcua.store.models import Rating
from motcua.store.ratings import (
    RATING_LEVELS,
    has_verified_lookup,
    month_of,
    rating_buttons,
    rating_payload,
    record_rating,
    satisfaction_by_agency_month,
    satisfaction_summary,
)
from motcua.workdays import VIETNAM

UTC = timezone.utc


def test_levels_and_buttons_are_the_fixed_payloads():
    assert list(RATING_LEVELS.items()) == [("very_satisfied", "Rất hài lòng"), ("satisfied", "Hài lòng"),
                                           ("unsatisfied", "Không hài lòng")]
    assert rating_buttons("complaint", "PA-2026-000001") == [
        {"title": "Rất hài lòng",
         "payload": '/rate_service{"rating_subject":"complaint","rating_ref":"PA-2026-000001",'
                    '"rating_level":"very_satisfied"}'},
        {"title": "Hài lòng",
         "payload": '/rate_service{"rating_subject":"complaint","rating_ref":"PA-2026-000001",'
                    '"rating_level":"satisfied"}'},
        {"title": "Không hài lòng",
         "payload": '/rate_service{"rating_subject":"complaint","rating_ref":"PA-2026-000001",'
                    '"rating_level":"unsatisfied"}'},
    ]
    assert rating_payload("dossier", "000.00.24.H08-261101-0001") == \
        '/rate_service{"rating_subject":"dossier","rating_ref":"000.00.24.H08-261101-0001"}'
    payload = rating_buttons("dossier", "000.00.24.H08-261101-0001")[2]["payload"]
    assert json.loads(payload.removeprefix("/rate_service")) == {
        "rating_subject": "dossier", "rating_ref": "000.00.24.H08-261101-0001", "rating_level": "unsatisfied"}


def test_month_is_vietnam_time():
    assert month_of(datetime(2026, 1, 31, 18, 0, tzinfo=UTC)) == "2026-02"  # 01:00 on 1 Feb in Vietnam
    assert month_of(datetime(2026, 1, 31, 16, 0)) == "2026-01"  # naive = UTC (SQLite)


async def test_record_and_replace(db):
    t0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    async with db.session() as s, s.begin():
        await record_rating(s, sender_id="web:a", level="satisfied", subject="complaint",
                            subject_ref="PA-2026-000001", agency="phong_kinh_te", now=t0)
        await record_rating(s, sender_id="web:a", level="very_satisfied", now=t0)
        await record_rating(s, sender_id="web:a", level="satisfied", now=t0)  # the service: every rating counts
        await record_rating(s, sender_id="web:a", level="unsatisfied", subject="procedure", subject_ref="khai_sinh",
                            now=t0)  # a procedure's "Không" may come without a reason
    # The same chat rating the same ticket again changes its rating instead of adding one.
    async with db.session() as s, s.begin():
        await record_rating(s, sender_id="web:a", level="unsatisfied", subject="complaint",
                            subject_ref="PA-2026-000001", agency="phong_kinh_te", reason="Chưa ai đến sửa đường",
                            now=t0 + timedelta(days=1))
    async with db.session() as s:
        rows = (await s.scalars(select(Rating).order_by(Rating.id))).all()
    assert [(r.subject, r.subject_ref, r.level) for r in rows] == [
        ("complaint", "PA-2026-000001", "unsatisfied"), ("service", "", "very_satisfied"),
        ("service", "", "satisfied"), ("procedure", "khai_sinh", "unsatisfied")]
    assert rows[0].reason == "Chưa ai đến sửa đường" and rows[0].agency == "phong_kinh_te"
    assert rows[3].reason == "" and rows[1].agency is None


async def test_a_reason_is_required_for_unsatisfied(db):
    async with db.session() as s, s.begin():
        with pytest.raises(ValueError):
            await record_rating(s, sender_id="web:b", level="unsatisfied", subject="dossier", subject_ref="X")
        with pytest.raises(ValueError):
            await record_rating(s, sender_id="web:b", level="okay")
        rating = await record_rating(s, sender_id="web:b", level="satisfied", subject="nonsense", subject_ref="x")
        assert (rating.subject, rating.subject_ref) == ("service", "")
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Rating)) == 1


async def test_reports_by_agency_and_month_and_summary(db):
    jan = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)
    late_jan = datetime(2026, 1, 31, 18, 30, tzinfo=UTC)  # 1 Feb 01:30 in Vietnam
    mar = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    ratings = [
        ("web:1", "very_satisfied", "complaint", "PA-2026-000001", "phong_kinh_te", jan),
        ("web:2", "satisfied", "complaint", "PA-2026-000002", "phong_kinh_te", jan),
        ("web:3", "satisfied", "complaint", "PA-2026-000003", "phong_kinh_te", jan),
        ("web:4", "unsatisfied", "complaint", "PA-2026-000004", "phong_kinh_te", late_jan),
        ("web:5", "very_satisfied", "dossier", "000.00.24.H08-261101-0001", "UBND xã Hoài Ân",
         mar.astimezone(VIETNAM)),
        ("web:6", "satisfied", "service", "", None, mar),
    ]
    async with db.session() as s, s.begin():
        for sender, level, subject, ref, agency, when in ratings:
            await record_rating(s, sender_id=sender, level=level, subject=subject, subject_ref=ref, agency=agency,
                                reason="Phải đi lại nhiều lần" if level == "unsatisfied" else "", now=when)
    async with db.session() as s:
        rows = await satisfaction_by_agency_month(s)
        since_feb = await satisfaction_by_agency_month(s, since=datetime(2026, 2, 1, tzinfo=UTC))
        summary = await satisfaction_summary(s)
        summary_mar = await satisfaction_summary(s, since=datetime(2026, 3, 1, 7, 0, tzinfo=VIETNAM))
    assert rows == [
        ("UBND xã Hoài Ân", "2026-03", "very_satisfied", 1),
        ("phong_kinh_te", "2026-01", "very_satisfied", 1),
        ("phong_kinh_te", "2026-01", "satisfied", 2),
        ("phong_kinh_te", "2026-02", "unsatisfied", 1),
        (None, "2026-03", "satisfied", 1),
    ]
    assert since_feb == [("UBND xã Hoài Ân", "2026-03", "very_satisfied", 1), (None, "2026-03", "satisfied", 1)]
    assert summary == {"very_satisfied": 2, "satisfied": 3, "unsatisfied": 1}
    assert list(summary) == list(RATING_LEVELS)
    assert summary_mar == {"very_satisfied": 1, "satisfied": 1, "unsatisfied": 0}


async def test_empty_reports(db):
    async with db.session() as s:
        assert await satisfaction_by_agency_month(s) == []
        assert await satisfaction_summary(s) == {"very_satisfied": 0, "satisfied": 0, "unsatisfied": 0}


async def test_verified_lookup_is_what_ties_a_dossier_to_a_chat(db):
    code = "000.00.24.H08-261101-0004"
    async with db.session() as s, s.begin():
        await record_lookup(s, "web:owner", code, "verified")
        await record_lookup(s, "web:guesser", code, "failed")
    async with db.session() as s:
        assert await has_verified_lookup(s, "web:owner", code)
        assert not await has_verified_lookup(s, "web:guesser", code)
        assert not await has_verified_lookup(s, "web:owner", "000.00.24.H08-261101-0001")
