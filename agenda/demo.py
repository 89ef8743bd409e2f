"""Demo agenda: a few appointments and reminders for Camille and Léo (idempotent, dated from today)."""

import datetime

from django.db import transaction
from django.utils import timezone

from agenda.enums import EntryKind
from agenda.models import AgendaEntry
from agenda.times import next_day_start, paris_datetime, start_of_day


def _at(days: int, hour: int, minute: int = 0) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=days)
    return paris_datetime(day, datetime.time(hour, minute))


@transaction.atomic
def seed_demo(personas) -> None:
    camille, leo = personas.camille, personas.leo
    if camille.agenda_entries.exists() or leo.agenda_entries.exists():
        return
    today = timezone.localdate()
    reminder_day = today + datetime.timedelta(days=10)
    entries = [
        AgendaEntry(
            patient=camille,
            kind=EntryKind.APPOINTMENT,
            professional_name="Dr Anne Martin",
            specialty="Médecine générale",
            address="12 rue des Lilas, 31000 Toulouse",
            starts_at=_at(3, 9, 30),
            ends_at=_at(3, 10),
            note="Apporter le carnet de vaccination.",
        ),
        AgendaEntry(
            patient=camille,
            kind=EntryKind.APPOINTMENT,
            professional_name="Lucie Bernard",
            specialty="Masseur-kinésithérapeute",
            address="Cabinet de kinésithérapie Saint-Cyprien, Toulouse",
            starts_at=_at(8, 18, 15),
            ends_at=_at(8, 19),
        ),
        AgendaEntry(
            patient=camille,
            kind=EntryKind.REMINDER,
            title="Renouveler l’ordonnance",
            starts_at=start_of_day(reminder_day),
            ends_at=next_day_start(reminder_day),
            all_day=True,
        ),
        AgendaEntry(
            patient=leo,
            kind=EntryKind.APPOINTMENT,
            professional_name="Dr Anne Martin",
            specialty="Médecine générale",
            address="12 rue des Lilas, 31000 Toulouse",
            starts_at=_at(5, 17),
            ends_at=_at(5, 17, 30),
            note="Examen de santé et certificat pour le sport.",
        ),
        AgendaEntry(
            patient=leo,
            kind=EntryKind.APPOINTMENT,
            professional_name="Centre dentaire du Capitole",
            specialty="Chirurgien-dentiste (M’T dents)",
            address="3 place du Capitole, 31000 Toulouse",
            starts_at=_at(15, 14),
            ends_at=_at(15, 14, 30),
        ),
    ]
    for entry in entries:
        entry.full_clean()
        entry.save()
