import datetime

from django.utils import timezone


def today() -> datetime.date:
    return timezone.localdate()


def age_on(birth_date: datetime.date, on: datetime.date) -> int:
    """Full years on `on` (a person born on 29 February turns a year older on 1 March)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
