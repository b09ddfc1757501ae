"""Working-day deadlines across weekends, Tết and other public holidays."""
from datetime import date, datetime, timezone

from motcua.workdays import VIETNAM, add_working_days, is_working_day, previous_working_day, working_days_between


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VIETNAM)


def test_weekends_are_skipped():
    # Filed Friday morning: 2 working days → Tuesday 17:00.
    assert add_working_days(vn(2026, 11, 27, 9, 0), 2) == vn(2026, 12, 1, 17, 0).astimezone(timezone.utc)


def test_after_closing_counts_from_the_next_working_day():
    assert add_working_days(vn(2026, 11, 27, 17, 30), 1) == vn(2026, 12, 1, 17, 0).astimezone(timezone.utc)
    assert add_working_days(vn(2026, 11, 28, 10, 0), 1) == vn(2026, 12, 1, 17, 0).astimezone(timezone.utc)


def test_tet_2027_is_skipped():
    # Tết Đinh Mùi: 4–10 Feb 2027 are holidays (Thu 4 .. Wed 10).
    for day in range(4, 11):
        assert not is_working_day(vn(2027, 2, day).date())
    # Filed Wednesday 3 Feb: 5 working days → 11, 12, 15, 16, 17 Feb.
    assert add_working_days(vn(2027, 2, 3, 10, 0), 5) == vn(2027, 2, 17, 17, 0).astimezone(timezone.utc)


def test_lunar_and_fixed_holidays_2026():
    assert not is_working_day(vn(2026, 4, 27).date())  # Giỗ Tổ Hùng Vương (observed)
    assert not is_working_day(vn(2026, 9, 2).date())
    assert is_working_day(vn(2026, 9, 3).date())


def test_working_days_between():
    assert working_days_between(vn(2026, 11, 27, 9), vn(2026, 12, 1, 9)) == 2
    assert working_days_between(vn(2026, 12, 1, 9), vn(2026, 11, 27, 9)) == -2


def test_the_working_day_before_skips_weekends_and_tet():
    assert previous_working_day(date(2026, 10, 20)) == date(2026, 10, 19)  # Tuesday → Monday
    assert previous_working_day(date(2026, 10, 19)) == date(2026, 10, 16)  # Monday → Friday
    assert previous_working_day(date(2027, 2, 11)) == date(2027, 2, 3)  # after Tết Đinh Mùi
