"""Read helpers for the calendar views (no access decision here: entries come from the policy)."""

import calendar
import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from agenda.models import PARIS
from agenda.times import start_of_day

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


def parse_month(value: str | None) -> datetime.date:
    """'2027-03' → 1 March 2027; anything else → the current month."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return datetime.date(year, month, 1)
    except ValueError:
        return timezone.localdate().replace(day=1)


def parse_day(value: str | None) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value or "")
    except ValueError:
        return timezone.localdate()


def month_label(first: datetime.date) -> str:
    return f"{MONTHS[first.month - 1]} {first.year}"


def shift_month(first: datetime.date, delta: int) -> datetime.date:
    index = first.year * 12 + first.month - 1 + delta
    return datetime.date(index // 12, index % 12 + 1, 1)


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
