"""Small helpers for the agenda tests: actors, a fixed clock in Paris time, entry factories."""

import datetime
from contextlib import contextmanager
from unittest import mock

from agenda import services
from agenda.enums import EntryKind
from agenda.models import PARIS
from espace_sante.access.actor import Actor


def actor_for(patient, acting_for=None) -> Actor:
    return Actor.for_user(patient.user, verified=True, acting_for_id=acting_for.pk if acting_for else None)


def paris(value: str) -> datetime.datetime:
    """'2027-03-28 10:00' read as Paris wall-clock time (fold=0)."""
    return datetime.datetime.fromisoformat(value).replace(tzinfo=PARIS)


@contextmanager
def clock(value: datetime.datetime | str):
    now = paris(value) if isinstance(value, str) else value
    with mock.patch("django.utils.timezone.now", return_value=now.astimezone(datetime.UTC)):
        yield now


def appointment(patient, starts: str, *, by=None, minutes: int = 30, **extra):
    start = paris(starts)
    fields = {
        "professional_name": "Dr Anne Martin",
        "specialty": "Médecine générale",
        "address": "12 rue des Lilas, 31000 Toulouse",
        "starts_at": start,
        "ends_at": start + datetime.timedelta(minutes=minutes),
        "note": "",
        **extra,
    }
    return services.entry_create(patient=patient, kind=EntryKind.APPOINTMENT, by=by or actor_for(patient), **fields)
