"""Read helpers for the calendar views (no access decision here: entries come from the policy)."""

import calendar
import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from agenda.models import PARIS
from agenda.times import YEARS_AROUND, start_of_day

MONTHS = [
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
]  # fmt: skip
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


@dataclass
class Day:
    date: datetime.date
    in_month: bool = True
    entries: list = field(default_factory=list)

    @property
    def is_today(self) -> bool:
        return self.date == timezone.localdate()

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.date.weekday()]

    @property
    def label(self) -> str:
        return f"{self.weekday_name} {self.date.day} {MONTHS[self.date.month - 1]} {self.date.year}"


class OutOfWindow(ValueError):
    """A month or a week outside the agenda's window (ten years either way), with a French message."""


def window() -> tuple[datetime.date, datetime.date]:
    """First and last day the calendar views show: from the first day of this month ten years ago to the last
    day of this month in ten years (the entry forms accept dates within it)."""
    today = timezone.localdate()
    first = datetime.date(today.year - YEARS_AROUND, today.month, 1)
    last = shift_month(datetime.date(today.year + YEARS_AROUND, today.month, 1), 1) - datetime.timedelta(days=1)
    return first, last


def _check_window(day: datetime.date) -> datetime.date:
    first, last = window()
    if not first <= day <= last:
        raise OutOfWindow(
            f"L’agenda s’affiche de {month_label(first)} à {month_label(last)} : voici la période en cours à la place."
        )
    return day


def in_window(day: datetime.date | None) -> datetime.date | None:
    """`day` when the views may link to it (previous / next), else None."""
    first, last = window()
    return day if day is not None and first <= day <= last else None


def parse_month(value: str | None) -> datetime.date:
    """'2027-03' → 1 March 2027; an unreadable value → the current month; a month outside the window → OutOfWindow."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        first = datetime.date(year, month, 1)
    except ValueError:
        return timezone.localdate().replace(day=1)
    return _check_window(first)


def parse_day(value: str | None) -> datetime.date:
    """'2027-03-24' → that day; an unreadable value → today; a day outside the window → OutOfWindow."""
    try:
        day = datetime.date.fromisoformat(value or "")
    except ValueError:
        return timezone.localdate()
    return _check_window(day)


def month_label(first: datetime.date) -> str:
    return f"{MONTHS[first.month - 1]} {first.year}"


def shift_month(first: datetime.date, delta: int) -> datetime.date | None:
    """The first day of the month `delta` months away; None beyond what a date can hold."""
    index = first.year * 12 + first.month - 1 + delta
    try:
        return datetime.date(index // 12, index % 12 + 1, 1)
    except ValueError:
        return None


def _place(days: dict[datetime.date, Day], entries) -> None:
    for entry in entries:
        day = timezone.localtime(entry.starts_at, PARIS).date()
        if day in days:
            days[day].entries.append(entry)


def month_grid(first: datetime.date, entries_in_range) -> list[list[Day]]:
    """Weeks (Monday first) covering the month; each day holds its entries, in start order."""
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    days = {d: Day(date=d, in_month=d.month == first.month) for week in weeks for d in week}
    _place(days, entries_in_range(start_of_day(weeks[0][0]), start_of_day(weeks[-1][-1] + datetime.timedelta(days=1))))
    return [[days[d] for d in week] for week in weeks]


def week_days(any_day: datetime.date, entries_in_range) -> list[Day]:
    monday = any_day - datetime.timedelta(days=any_day.weekday())
    dates = [monday + datetime.timedelta(days=i) for i in range(7)]
    days = {d: Day(date=d) for d in dates}
    _place(days, entries_in_range(start_of_day(dates[0]), start_of_day(dates[-1] + datetime.timedelta(days=1))))
    return [days[d] for d in dates]
