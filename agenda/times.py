"""Local wall-clock times in Europe/Paris, refusing the times that do not exist at the spring change."""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from agenda.models import PARIS

YEARS_AROUND = 10  # the agenda holds entries ten years back (history) and ten years ahead, and shows no further


def paris_datetime(day: datetime.date, at: datetime.time) -> datetime.datetime:
    """The aware datetime of `day` at `at`, Paris time.

    A time skipped when clocks go forward (e.g. 2027-03-28 02:30) raises a French ValidationError. A time that
    happens twice when clocks go back is taken at its first occurrence (summer time), as calendar apps do.
    """
    naive = datetime.datetime.combine(day, at.replace(tzinfo=None, fold=0))
    aware = naive.replace(tzinfo=PARIS)
    round_trip = aware.astimezone(datetime.UTC).astimezone(PARIS)
    if round_trip.replace(tzinfo=None) != naive:
        raise ValidationError(
            f"L’heure {at:%H:%M} n’existe pas le {day:%d/%m/%Y} en France : à cause du passage à l’heure d’été, "
            "les horloges passent directement de 2 h à 3 h. Choisissez une autre heure.",
            code="nonexistent_time",
        )
    return aware


def start_of_day(day: datetime.date) -> datetime.datetime:
    return paris_datetime(day, datetime.time(0, 0))


def next_day_start(day: datetime.date) -> datetime.datetime:
    return start_of_day(day + datetime.timedelta(days=1))


def instant_window(now: datetime.datetime | None = None) -> tuple[datetime.datetime, datetime.datetime]:
    """The earliest and latest instants an entry sent by a service may have: ten years either way of now."""
    now = timezone.localtime(now or timezone.now(), datetime.UTC)
    years = datetime.timedelta(days=365 * YEARS_AROUND + YEARS_AROUND // 4)
    return now - years, now + years
