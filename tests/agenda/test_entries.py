"""Appointments and reminders: who may create, edit, cancel and delete them; bad input; the three views."""

import datetime

import pytest
from django.urls import reverse

from agenda import services
from agenda.enums import EntryKind, EntryStatus
from agenda.models import AgendaEntry
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.agenda.helpers import actor_for, appointment, clock, paris

pytestmark = pytest.mark.django_db
NOW = "2027-03-20 10:00"


def _post_appointment(client, **overrides):
    data = {
        "professional_name": "Dr Anne Martin",
        "specialty": "Cardiologie",
        "address": "12 rue des Lilas",
        "date": "2027-03-25",
        "start_time": "14:30",
        "end_time": "15:00",
        "note": "À jeun",
        **overrides,
    }
    return client.post(reverse("agenda:appointment_create"), data)


def test_patient_creates_an_appointment_in_paris_time(client, session_as, personas):
    session_as(client, "camille")
    with clock(NOW):
        response = _post_appointment(client)
    entry = AgendaEntry.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("agenda:entry_detail", args=[entry.public_id])
    assert entry.patient == personas.camille
    assert entry.starts_at == paris("2027-03-25 14:30")
    assert entry.starts_at.astimezone(datetime.UTC).hour == 13  # CET, UTC+1
    assert entry.note == "À jeun"
    assert AuditEvent.objects.filter(action=Action.AGENDA_ENTRY_CREATED, patient=personas.camille).count() == 1


def test_summer_time_is_handled(client, session_as, personas):
    session_as(client, "camille")
    with clock(NOW):
        _post_appointment(client, date="2027-03-29", start_time="09:00", end_time="")
    entry = AgendaEntry.objects.get()
    assert entry.starts_at.astimezone(datetime.UTC).hour == 7  # CEST, UTC+2
    assert entry.ends_at is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"start_time": "15:00", "end_time": "14:00"}, "end_time", "L’heure de fin doit être après l’heure de début."),
        ({"start_time": "15:00", "end_time": "15:00"}, "end_time", "L’heure de fin doit être après l’heure de début."),
        ({"date": "1850-03-25"}, "date", "La date doit être comprise entre le 01/03/2017 et le 01/03/2037."),
        (
            {"date": "2027-03-28", "start_time": "02:30", "end_time": ""},
            "start_time",
            "L’heure 02:30 n’existe pas le 28/03/2027 en France",
        ),
        ({"note": "x" * 10_000}, "note", "La note ne doit pas dépasser 2000 caractères (elle en compte 10000)."),
        ({"professional_name": "   "}, "professional_name", "Ce champ est obligatoire."),
        ({"date": "pas une date"}, "date", "Saisissez une date valide."),
    ],
)
def test_bad_input_gets_a_french_message_and_saves_nothing(client, session_as, personas, overrides, field, message):
    session_as(client, "camille")
    with clock(NOW):
        response = _post_appointment(client, **overrides)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors
    assert not AgendaEntry.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.AGENDA_ENTRY_CREATED).exists()


def test_nonexistent_end_time_is_refused_too(client, session_as, personas):
    session_as(client, "camille")
    with clock(NOW):
        response = _post_appointment(client, date="2027-03-28", start_time="01:30", end_time="02:15")
    assert "n’existe pas le 28/03/2027" in " ".join(response.context["form"].errors["end_time"])
    assert not AgendaEntry.objects.exists()


def test_ambiguous_autumn_time_is_the_first_occurrence(personas):
    with clock(NOW):
        entry = appointment(personas.camille, "2027-10-31 02:30")
    assert entry.starts_at.astimezone(datetime.UTC) == datetime.datetime(2027, 10, 31, 0, 30, tzinfo=datetime.UTC)


def test_database_refuses_an_end_before_the_start(personas):
    from django.core.exceptions import ValidationError

    with clock(NOW), pytest.raises(ValidationError):
        appointment(personas.camille, "2027-03-25 10:00", minutes=-30)
    assert not AgendaEntry.objects.exists()


def test_reminder_without_time_lasts_the_day(client, session_as, personas):
    session_as(client, "camille")
    with clock(NOW):
        response = client.post(
            reverse("agenda:reminder_create"), {"title": "Renouveler l’ordonnance", "date": "2027-03-28", "note": ""}
        )
    assert response.status_code == 302
    entry = AgendaEntry.objects.get()
    assert entry.kind == EntryKind.REMINDER and entry.all_day
    assert entry.starts_at == paris("2027-03-28 00:00")
    assert entry.ends_at == paris("2027-03-29 00:00")
    assert entry.ends_at - entry.starts_at == datetime.timedelta(hours=23)  # the spring change day is short


def test_edit_cancel_delete(client, session_as, personas):
    with clock(NOW):
        entry = appointment(personas.camille, "2027-03-25 10:00")
        session_as(client, "camille")
        response = client.post(
            reverse("agenda:entry_edit", args=[entry.public_id]),
            {"professional_name": "Dr Paul Roux", "date": "2027-03-26", "start_time": "11:00", "end_time": "11:30"},
        )
        assert response.status_code == 302
        entry.refresh_from_db()
        assert entry.professional_name == "Dr Paul Roux" and entry.starts_at == paris("2027-03-26 11:00")

        client.post(reverse("agenda:entry_cancel", args=[entry.public_id]))
        entry.refresh_from_db()
        assert entry.status == EntryStatus.CANCELLED
        again = client.post(reverse("agenda:entry_cancel", args=[entry.public_id]), follow=True)
        assert "Ce rendez-vous est déjà annulé." in again.content.decode()

        assert client.get(reverse("agenda:entry_delete", args=[entry.public_id])).status_code == 200
        client.post(reverse("agenda:entry_delete", args=[entry.public_id]))
    assert not AgendaEntry.objects.exists()
    actions = set(AuditEvent.objects.filter(patient=personas.camille).values_list("action", flat=True))
    assert {Action.AGENDA_ENTRY_CHANGED, Action.AGENDA_ENTRY_CANCELLED, Action.AGENDA_ENTRY_DELETED} <= actions
    assert "Dr Paul Roux" not in " ".join(AuditEvent.objects.values_list("target_label", flat=True))


def test_another_patient_gets_404_everywhere(client, session_as, personas):
    with clock(NOW):
        entry = appointment(personas.camille, "2027-03-25 10:00")
    session_as(client, "sophie")
    for name in ("entry_detail", "entry_edit", "entry_delete", "entry_ics"):
        assert client.get(reverse(f"agenda:{name}", args=[entry.public_id])).status_code == 404
    assert client.post(reverse("agenda:entry_cancel", args=[entry.public_id])).status_code == 404
    assert client.post(reverse("agenda:entry_delete", args=[entry.public_id])).status_code == 404
    assert AgendaEntry.objects.filter(status=EntryStatus.PLANNED).count() == 1
    with pytest.raises(services.NotAllowed):
        services.entry_cancel(entry=entry, by=actor_for(personas.sophie))


def test_parent_creates_for_a_child_and_sees_the_child_in_the_family_agenda(client, session_as, personas):
    session_as(client, "julien")
    with clock(NOW):
        form_page = client.get(reverse("agenda:appointment_create"))
        assert "Pour qui ?" in form_page.content.decode()
        _post_appointment(client, patient=str(personas.leo.public_id), professional_name="Dr Martin")
        appointment(personas.julien, "2027-03-26 09:00", professional_name="Dr Dupont")
        listing = client.get(reverse("agenda:index")).content.decode()
        month = client.get(reverse("agenda:month") + "?mois=2027-03").content.decode()
    entry = AgendaEntry.objects.get(patient=personas.leo)
    assert entry.professional_name == "Dr Martin"
    assert "Léo Moreau" in listing and "Dr Dupont" in listing
    assert "Léo – Rendez-vous : Dr Martin (Cardiologie)" in month
    # Emma's space is not open yet: she is not offered.
    assert "Emma" not in form_page.content.decode()


def test_parent_may_not_pick_someone_else(client, session_as, personas):
    session_as(client, "julien")
    with clock(NOW):
        response = _post_appointment(client, patient=str(personas.camille.public_id))
    assert "Choisissez une personne de la liste." in response.content.decode()
    assert not AgendaEntry.objects.exists()


def test_month_and_week_views_place_entries_on_their_local_day(client, session_as, personas):
    with clock(NOW):
        late = appointment(personas.camille, "2027-03-25 23:30", minutes=20)  # 22:30 UTC, still the 25th in Paris
        session_as(client, "camille")
        month = client.get(reverse("agenda:month") + "?mois=2027-03")
        week = client.get(reverse("agenda:week") + "?semaine=2027-03-24")
        bad = client.get(reverse("agenda:month") + "?mois=n-importe")
    assert month.status_code == week.status_code == bad.status_code == 200
    cell = next(day for week_ in month.context["weeks"] for day in week_ if day.date == datetime.date(2027, 3, 25))
    assert cell.entries == [late]
    assert [d.date for d in week.context["days"]][0] == datetime.date(2027, 3, 22)
    assert week.context["days"][3].entries == [late]
    assert "<caption>" in month.content.decode() and 'scope="col"' in month.content.decode()


def test_views_keep_a_flat_query_count(client, session_as, personas, django_assert_max_num_queries):
    session_as(client, "julien")
    with clock(NOW):
        for day in range(21, 28):
            appointment(personas.leo, f"2027-03-{day} 10:00", by=actor_for(personas.julien))
        with django_assert_max_num_queries(20):
            client.get(reverse("agenda:month") + "?mois=2027-03")
        with django_assert_max_num_queries(20):
            client.get(reverse("agenda:index"))


def test_dashboard_tile_shows_upcoming_entries(client, session_as, personas):
    with clock(NOW):
        appointment(personas.camille, "2027-03-25 10:00")
        session_as(client, "camille")
        page = client.get(reverse("accounts:dashboard")).content.decode()
    assert "Prochainement" in page and "Rendez-vous : Dr Anne Martin" in page


def test_an_appointment_pushed_by_a_connected_service(personas):
    from catalogue.actor import ServiceActor
    from tests.catalogue.helpers import make_service

    service = make_service("Prise de rendez-vous en ligne")
    with clock(NOW):
        entry = services.entry_add_from_service(
            patient=personas.camille,
            service=service,
            professional_name="Centre de radiologie",
            starts_at=paris("2027-03-25 10:00"),
            ends_at=paris("2027-03-25 10:30"),
            description="Échographie",
            identifier="rdv-1",
            by=ServiceActor.for_service(service),
        )
        with pytest.raises(services.DuplicateIdentifier):
            services.entry_add_from_service(
                patient=personas.camille,
                service=service,
                starts_at=paris("2027-03-26 10:00"),
                ends_at=paris("2027-03-26 10:30"),
                identifier="rdv-1",
                by=ServiceActor.for_service(service),
            )
    assert entry.source_label == "ajouté par Prise de rendez-vous en ligne"
    assert entry.professional_name == "Centre de radiologie" and entry.note == "Échographie"
    assert AgendaEntry.objects.filter(patient=personas.camille).count() == 1
    event = AuditEvent.objects.get(action=Action.AGENDA_ENTRY_CREATED)
    assert event.actor_label == "Prise de rendez-vous en ligne" and event.data == {}
