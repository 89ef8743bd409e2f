"""Exports: .ics of one event and of everything, and the private subscription feed; parsed with icalendar."""

import datetime

import icalendar
import pytest
from django.urls import reverse

from agenda import ics, services
from agenda.enums import EntryKind, FeedDetail
from agenda.models import PARIS, AgendaSettings
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.agenda.helpers import actor_for, appointment, clock, paris

pytestmark = pytest.mark.django_db
NOW = "2027-03-20 10:00"
NOTE = "À jeun ; apporter l’ordonnance, la carte Vitale\net les résultats \\ radios. " + "é" * 80


def _events(content: bytes) -> list:
    return icalendar.Calendar.from_ical(content).walk("VEVENT")


def _check_rfc5545_lines(content: bytes) -> None:
    assert content.endswith(b"\r\n")
    for line in content.split(b"\r\n")[:-1]:
        assert len(line) <= 75, line
        assert b"\n" not in line and b"\r" not in line
        line.decode()  # folding never splits a UTF-8 character


def test_one_event_with_every_detail(client, session_as, personas):
    with clock(NOW):
        entry = appointment(personas.camille, "2027-03-28 10:00", note=NOTE, address="12 rue des Lilas, Toulouse")
        session_as(client, "camille")
        response = client.get(reverse("agenda:entry_ics", args=[entry.public_id]))
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    _check_rfc5545_lines(response.content)
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Europe/Paris"
    (event,) = _events(response.content)
    assert str(event["UID"]) == f"{entry.public_id}@testserver"
    assert event["DTSTAMP"].dt.tzinfo is not None
    start = event["DTSTART"].dt
    assert start == paris("2027-03-28 10:00") and start.utcoffset() == datetime.timedelta(hours=2)
    assert event["DTEND"].dt == paris("2027-03-28 10:30")
    assert str(event["SUMMARY"]) == "Rendez-vous : Dr Anne Martin (Médecine générale)"
    assert str(event["LOCATION"]) == "12 rue des Lilas, Toulouse"
    assert str(event["DESCRIPTION"]) == "Médecine générale\n" + NOTE
    assert AuditEvent.objects.filter(action=Action.AGENDA_EXPORTED, patient=personas.camille).count() == 1


def test_export_everything_with_the_children_named(client, session_as, personas):
    julien = actor_for(personas.julien)
    with clock(NOW):
        appointment(personas.julien, "2027-03-25 09:00", professional_name="Dr Dupont")
        appointment(personas.leo, "2027-03-26 17:00", by=julien)
        services.entry_create(
            patient=personas.leo,
            kind=EntryKind.REMINDER,
            by=julien,
            title="Vaccins, rappel",
            starts_at=paris("2027-03-30 00:00"),
            ends_at=paris("2027-03-31 00:00"),
            all_day=True,
        )
        session_as(client, "julien")
        response = client.get(reverse("agenda:export_ics"))
    _check_rfc5545_lines(response.content)
    events = {str(e["SUMMARY"]): e for e in _events(response.content)}
    assert set(events) == {
        "Rendez-vous : Dr Dupont (Médecine générale)",
        "Léo – Rendez-vous : Dr Anne Martin (Médecine générale)",
        "Léo – Vaccins, rappel",
    }
    all_day = events["Léo – Vaccins, rappel"]
    assert all_day["DTSTART"].dt == datetime.date(2027, 3, 30)
    assert all_day["DTEND"].dt == datetime.date(2027, 3, 31)
    assert len({str(e["UID"]) for e in events.values()}) == 3


def test_text_escaping_and_folding():
    assert ics.escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "DESCRIPTION:" + "é" * 100
    folded = ics.fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line


def _feed(client, token):
    return client.get(reverse("agenda:feed", args=[token]))


def test_feed_is_reachable_without_login_with_titles_only_by_default(client, personas):
    with clock(NOW):
        appointment(personas.camille, "2027-03-28 10:00", note="Très personnel", address="12 rue des Lilas")
        token = services.feed_renew(by=actor_for(personas.camille))
        response = _feed(client, token)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    (event,) = _events(response.content)
    assert str(event["SUMMARY"]) == "Rendez-vous : Dr Anne Martin"
    assert "LOCATION" not in event and "DESCRIPTION" not in event
    assert b"Tr\xc3\xa8s personnel" not in response.content
    stored = AgendaSettings.objects.get(patient=personas.camille)
    assert token not in stored.feed_token_hash and len(stored.feed_token_hash) == 64
    assert stored.feed_last_read_at is not None
    assert AuditEvent.objects.filter(action=Action.AGENDA_FEED_READ, patient=personas.camille).count() == 1


def test_feed_detail_levels(client, personas):
    camille = actor_for(personas.camille)
    with clock(NOW):
        appointment(personas.camille, "2027-03-28 10:00", note="Note", address="12 rue des Lilas")
        token = services.feed_renew(by=camille)
        services.settings_update(
            patient=personas.camille,
            by=camille,
            reminders_enabled=True,
            prevention_enabled=True,
            feed_detail=FeedDetail.FULL,
        )
        (full,) = _events(_feed(client, token).content)
        services.settings_update(
            patient=personas.camille,
            by=camille,
            reminders_enabled=True,
            prevention_enabled=True,
            feed_detail=FeedDetail.BUSY,
        )
        (busy,) = _events(_feed(client, token).content)
    assert str(full["LOCATION"]) == "12 rue des Lilas" and "Note" in str(full["DESCRIPTION"])
    assert str(busy["SUMMARY"]) == "Rendez-vous santé"


def test_feed_token_renewed_or_revoked_answers_404(client, personas):
    camille = actor_for(personas.camille)
    with clock(NOW):
        first = services.feed_renew(by=camille)
        second = services.feed_renew(by=camille)
        assert _feed(client, first).status_code == 404
        assert _feed(client, second).status_code == 200
        services.feed_revoke(by=camille)
        assert _feed(client, second).status_code == 404
        assert _feed(client, second[:-1] + ("A" if second[-1] != "A" else "B")).status_code == 404
    actions = list(AuditEvent.objects.filter(patient=personas.camille).values_list("action", flat=True))
    assert actions.count(Action.AGENDA_FEED_CREATED) == 2 and Action.AGENDA_FEED_REVOKED in actions


def test_feed_follows_the_representations_of_its_owner(client, personas):
    julien = actor_for(personas.julien)
    with clock(NOW):
        appointment(personas.leo, "2027-03-26 17:00", by=julien)
        token = services.feed_renew(by=julien)
        assert "Léo – " in str(_events(_feed(client, token).content)[0]["SUMMARY"])
        personas.leo.representatives.update(ended_on=datetime.date(2027, 3, 1))
        assert _events(_feed(client, token).content) == []


def test_feed_pages_through_the_views(client, session_as, personas):
    session_as(client, "camille")
    with clock(NOW):
        created = client.post(reverse("agenda:feed_renew"))
        url = created.context["url"]
        assert url.startswith("http://testserver/agenda/abonnement/") and created.context["webcal"].startswith(
            "webcal://"
        )
        assert client.get(url).status_code == 200
        settings_page = client.get(reverse("agenda:settings")).content.decode()
        assert "Un lien est actif depuis" in settings_page
        client.post(reverse("agenda:feed_revoke"))
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 404


def test_dtstart_keeps_local_time_for_an_event_in_winter(personas):
    with clock(NOW):
        entry = appointment(personas.camille, "2027-12-01 09:00")
    content = ics.calendar([entry], detail=FeedDetail.TITLES, name="Test")
    assert b"DTSTART;TZID=Europe/Paris:20271201T090000" in content
    (event,) = _events(content)
    assert event["DTSTART"].dt.astimezone(PARIS).hour == 9
