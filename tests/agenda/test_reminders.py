"""Reminders: the real beat task on a fixed clock, exactly one e-mail per due reminder, across DST changes."""

import datetime

import pytest

from agenda import services
from agenda.enums import EntryKind
from agenda.tasks import send_agenda_reminders_task
from espace_sante.celery import app as celery_app
from espace_sante.outbox.enums import Channel
from espace_sante.outbox.models import OutboxMessage
from tests.agenda.helpers import actor_for, appointment, clock, paris

pytestmark = pytest.mark.django_db
CREATED = "2027-03-01 10:00"


def run_every_quarter_hour(start: str, end: str, capture) -> None:
    """Run the beat task as beat would: every 15 minutes of UTC time, delivering the outbox after each run."""
    now = paris(start).astimezone(datetime.UTC)
    stop = paris(end).astimezone(datetime.UTC)
    while now <= stop:
        with clock(now), capture(execute=True):
            send_agenda_reminders_task()
        now += datetime.timedelta(minutes=15)


def test_beat_runs_the_task_every_quarter_hour():
    entry = celery_app.conf.beat_schedule["agenda-reminders"]
    assert entry["task"] == "agenda.tasks.send_agenda_reminders_task"
    assert entry["schedule"].minute == {0, 15, 30, 45}


def test_one_email_the_day_before_and_one_the_same_morning(personas, mailoutbox, django_capture_on_commit_callbacks):
    with clock(CREATED):
        appointment(personas.camille, "2027-03-10 14:30")
    run_every_quarter_hour("2027-03-09 08:00", "2027-03-10 16:00", django_capture_on_commit_callbacks)
    assert [m.subject for m in mailoutbox] == ["Rappel : rendez-vous demain", "Rappel : rendez-vous aujourd’hui"]
    assert all(m.to == ["camille.lefevre@example.org"] for m in mailoutbox)
    assert "à 14h30" in mailoutbox[0].body
    assert "Dr Anne Martin" not in mailoutbox[0].body and "Médecine" not in mailoutbox[0].body  # nothing medical


def test_sent_at_the_announced_local_times(personas, mailoutbox, django_capture_on_commit_callbacks):
    with clock(CREATED):
        appointment(personas.camille, "2027-03-10 14:30")
    with clock("2027-03-09 17:45"), django_capture_on_commit_callbacks(execute=True):
        assert send_agenda_reminders_task() == 0
    with clock("2027-03-09 18:00"), django_capture_on_commit_callbacks(execute=True):
        assert send_agenda_reminders_task() == 1
    with clock("2027-03-10 06:45"), django_capture_on_commit_callbacks(execute=True):
        assert send_agenda_reminders_task() == 0
    with clock("2027-03-10 07:00"), django_capture_on_commit_callbacks(execute=True):
        assert send_agenda_reminders_task() == 1
    assert len(mailoutbox) == 2


def test_across_the_spring_change(personas, mailoutbox, django_capture_on_commit_callbacks):
    """28 March 2027: clocks jump from 02:00 to 03:00; the same morning reminder still goes at 07:00 CEST."""
    with clock(CREATED):
        appointment(personas.camille, "2027-03-28 10:00")
        early = appointment(personas.camille, "2027-03-28 03:30")  # right after the gap, before 07:00
    run_every_quarter_hour("2027-03-27 00:00", "2027-03-28 23:45", django_capture_on_commit_callbacks)
    keys = sorted(OutboxMessage.objects.filter(channel=Channel.EMAIL).values_list("dedupe_key", flat=True))
    assert len(mailoutbox) == 3  # two for 10:00, only the day before for 03:30
    assert sum(early.public_id.hex in key for key in keys) == 1
    sent = {m.subject: m for m in mailoutbox}
    assert set(sent) == {"Rappel : rendez-vous demain", "Rappel : rendez-vous aujourd’hui"}


def test_across_the_autumn_change(personas, mailoutbox, django_capture_on_commit_callbacks):
    """31 October 2027: 03:00 becomes 02:00; the hour 02:00-03:00 happens twice, yet nothing is sent twice."""
    with clock("2027-10-01 10:00"):
        appointment(personas.camille, "2027-10-31 08:00")
        appointment(personas.camille, "2027-11-01 09:00")
    run_every_quarter_hour("2027-10-30 00:00", "2027-11-01 12:00", django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 4


def test_never_for_a_cancelled_past_or_silenced_item(personas, mailoutbox, django_capture_on_commit_callbacks):
    camille = actor_for(personas.camille)
    with clock(CREATED):
        cancelled = appointment(personas.camille, "2027-03-10 14:30")
        services.entry_cancel(entry=cancelled, by=camille)
        appointment(personas.julien, "2027-03-10 15:00")
        services.settings_update(
            patient=personas.julien, by=actor_for(personas.julien), reminders_enabled=False, prevention_enabled=True
        )
    with clock("2027-03-10 12:00"):
        past = appointment(personas.camille, "2027-03-10 12:30")
    run_every_quarter_hour("2027-03-10 12:45", "2027-03-10 20:00", django_capture_on_commit_callbacks)
    assert mailoutbox == []
    assert not OutboxMessage.objects.filter(dedupe_key__contains=past.public_id.hex).exists()


def test_sms_entry_when_a_phone_is_on_file(personas, mailoutbox, django_capture_on_commit_callbacks):
    personas.camille.phone = "0612345678"
    personas.camille.save(update_fields=["phone"])
    with clock(CREATED):
        appointment(personas.camille, "2027-03-10 14:30")
    run_every_quarter_hour("2027-03-09 17:00", "2027-03-10 14:30", django_capture_on_commit_callbacks)
    sms = OutboxMessage.objects.filter(channel=Channel.SMS)
    assert sms.count() == 2
    assert {m.recipient for m in sms} == {"0612345678"}
    assert len(mailoutbox) == 2


def test_a_child_s_reminder_goes_to_the_parent(personas, mailoutbox, django_capture_on_commit_callbacks):
    with clock(CREATED):
        appointment(personas.leo, "2027-03-10 17:00", by=actor_for(personas.julien))
    run_every_quarter_hour("2027-03-09 18:00", "2027-03-09 18:30", django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["julien.moreau@example.org"]
    assert "Léo a un rendez-vous de santé demain à 17h00" in mailoutbox[0].body


def test_all_day_reminder(personas, mailoutbox, django_capture_on_commit_callbacks):
    with clock(CREATED):
        services.entry_create(
            patient=personas.camille,
            kind=EntryKind.REMINDER,
            by=actor_for(personas.camille),
            title="Renouveler l’ordonnance",
            starts_at=paris("2027-03-10 00:00"),
            ends_at=paris("2027-03-11 00:00"),
            all_day=True,
        )
    run_every_quarter_hour("2027-03-09 00:00", "2027-03-11 02:00", django_capture_on_commit_callbacks)
    assert [m.subject for m in mailoutbox] == ["Rappel : rappel santé demain", "Rappel : rappel santé aujourd’hui"]
    assert "ordonnance" not in mailoutbox[0].body


def test_a_moved_appointment_is_reminded_again_once(personas, mailoutbox, django_capture_on_commit_callbacks):
    with clock(CREATED):
        entry = appointment(personas.camille, "2027-03-10 14:30")
    run_every_quarter_hour("2027-03-09 18:00", "2027-03-09 19:00", django_capture_on_commit_callbacks)
    with clock("2027-03-09 19:00"):
        services.entry_update(
            entry=entry,
            by=actor_for(personas.camille),
            starts_at=paris("2027-03-10 16:00"),
            ends_at=paris("2027-03-10 16:30"),
        )
    run_every_quarter_hour("2027-03-09 19:00", "2027-03-09 20:00", django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2  # one per occurrence, never twice for the same one


def test_an_appointment_a_service_sent_is_reminded_like_any_other(
    personas, mailoutbox, django_capture_on_commit_callbacks
):
    from catalogue.actor import ServiceActor
    from tests.catalogue.helpers import make_service

    service = make_service("Prise de rendez-vous en ligne")
    with clock(CREATED):
        services.entry_add_from_service(
            patient=personas.camille,
            service=service,
            starts_at=paris("2027-03-10 14:30"),
            ends_at=paris("2027-03-10 15:00"),
            description="Échographie",
            by=ServiceActor.for_service(service),
        )
    run_every_quarter_hour("2027-03-09 17:00", "2027-03-10 08:00", django_capture_on_commit_callbacks)
    assert [m.subject for m in mailoutbox] == ["Rappel : rendez-vous demain", "Rappel : rendez-vous aujourd’hui"]
    assert "Échographie" not in mailoutbox[0].body and "Prise de rendez-vous" not in mailoutbox[0].body
