"""One truth for the patient's data: what a service sends through /api/v1/Observation and /api/v1/Appointment
lands in the profile and the agenda (pages, charts, .ics feed, synthesis), named as sent by the service; what
cannot be taken is refused with an OperationOutcome and nothing is stored."""

import datetime
import json
from decimal import Decimal

import icalendar
import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from agenda import services as agenda_services
from agenda.models import AgendaEntry
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from profil import services as profil_services
from profil.models import Measure
from tests.catalogue.helpers import connect_and_get_tokens, make_service
from tests.catalogue.test_api import FHIR, assert_outcome, bearer, weight

LABELS = ("Importer mes mesures", "Consulter mes mesures", "Partager mes rendez-vous")


@pytest.fixture
def service(db):
    return make_service("Tensio Test")


@pytest.fixture
def camille_client(client, login_as):
    login_as(client, "camille")
    return client


@pytest.fixture
def token(camille_client, service) -> str:
    return connect_and_get_tokens(camille_client, Client(), service, LABELS)["access_token"]


def post(path: str, body: dict, token: str):
    return Client().post(f"/api/v1/{path}", json.dumps(body), content_type=FHIR, **bearer(token))


def blood_pressure(patient, systolic=128, diastolic=82, **extra) -> dict:
    def component(code, value):
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": f"Patient/{patient.public_id}"},
        "effectiveDateTime": (timezone.now() - datetime.timedelta(hours=2)).isoformat(),
        "component": [component("8480-6", systolic), component("8462-4", diastolic)],
        **extra,
    }


def appointment(patient, **extra) -> dict:
    start = timezone.now() + datetime.timedelta(days=3)
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "description": "Téléconsultation de suivi",
        "start": start.isoformat(),
        "end": (start + datetime.timedelta(minutes=30)).isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{patient.public_id}"}, "status": "accepted"},
            {"actor": {"display": "Dr Karim Haddad"}, "status": "accepted"},
        ],
        **extra,
    }


def test_a_measure_sent_by_a_service_is_on_the_patients_measures_page_and_chart(
    personas, camille_client, service, token
):
    for value, hours in ((64.2, 30), (63.8, 2)):
        body = weight(personas.camille, value)
        body["effectiveDateTime"] = (timezone.now() - datetime.timedelta(hours=hours)).isoformat()
        assert post("Observation", body, token).status_code == 201
    measure = Measure.objects.filter(source=service).first()
    assert measure.measured_at is not None and measure.version == 1
    page = camille_client.get(reverse("profil:measures")).content.decode()
    assert "ajouté par Tensio Test" in page  # history and latest values
    assert "63,8 kg (ajouté par Tensio Test)" in page  # the chart's data table
    assert "<title>" in page and ": 63,8 kg (ajouté par Tensio Test)</title>" in page  # the dot's tooltip
    index = camille_client.get(reverse("profil:index")).content.decode()
    assert "ajouté par Tensio Test" in index
    event = AuditEvent.objects.filter(action=Action.MEASURE_ADDED, patient=personas.camille).latest("pk")
    assert event.actor_label == "Tensio Test" and event.data == {}


def test_the_measures_page_query_count_stays_flat_with_service_measures(
    personas, camille_client, service, token, django_assert_num_queries, django_assert_max_num_queries
):
    assert post("Observation", weight(personas.camille, 64), token).status_code == 201
    with django_assert_max_num_queries(60) as first:
        assert camille_client.get(reverse("profil:measures")).status_code == 200
    count = len(first.captured_queries)  # now: later requests reset the connection's query log
    for value in (65, 66, 67):
        assert post("Observation", weight(personas.camille, value), token).status_code == 201
    other = make_service("Balance Deux", redirect_uri="https://tensio.example/oauth/callback")
    other_token = connect_and_get_tokens(camille_client, Client(), other, LABELS)["access_token"]
    assert post("Observation", weight(personas.camille, 68), other_token).status_code == 201
    with django_assert_num_queries(count):
        response = camille_client.get(reverse("profil:measures"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "ajouté par Balance Deux" in page


def test_the_synthesis_names_the_service_that_sent_a_measure(personas, service, token):
    assert post("Observation", blood_pressure(personas.camille), token).status_code == 201
    actor = Actor.for_user(personas.camille.user, verified=True)
    context = profil_services.synthesis_context(by=actor, patient=personas.camille, sections=["mesures"])
    html = render_to_string("profil/pdf/synthese.html", context)
    assert "128/82 mmHg" in html and "ajouté par le service connecté Tensio Test" in html


def test_blood_pressure_panel_round_trip_through_the_api(personas, service, token):
    body = blood_pressure(personas.camille, identifier=[{"system": "https://tensio.example", "value": "bp-1"}])
    response = post("Observation", body, token)
    assert response.status_code == 201, response.content
    created = Observation.model_validate(response.json())
    measure = Measure.objects.get(source=service)
    assert (measure.kind, measure.value, measure.value2, measure.source_identifier) == ("tension", 128, 82, "bp-1")
    response = Client().get(f"/api/v1/Observation/{created.id}", **bearer(token))
    read = response.json()
    Observation.model_validate(read)
    assert read["code"]["coding"][0]["code"] == "85354-9"
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in read["component"]] == [
        ("8480-6", 128),
        ("8462-4", 82),
    ]
    assert read["identifier"] == [{"value": "bp-1"}] and read["device"] == {"display": "Tensio Test"}
    assert read["meta"]["versionId"] == "1" and read["meta"]["lastUpdated"]


@pytest.mark.parametrize(
    ("value", "unit", "code", "stored"),
    [
        (72400, "g", "29463-7", Decimal("72.40")),
        (150, "[lb_av]", "29463-7", Decimal("68.04")),
        (98.6, "[degF]", "8310-5", Decimal("37.00")),
        (7, "mmol/L", "15074-8", Decimal("1.26")),
        (126, "mg/dL", "2339-0", Decimal("1.26")),
    ],
)
def test_units_are_converted_through_the_api(personas, service, token, value, unit, code, stored):
    body = weight(personas.camille)
    body["code"] = {"coding": [{"system": "http://loinc.org", "code": code}]}
    body["valueQuantity"] = {"value": value, "system": "http://unitsofmeasure.org", "code": unit}
    response = post("Observation", body, token)
    assert response.status_code == 201, response.content
    assert Measure.objects.get(source=service).value == stored


def test_several_codings_the_known_loinc_one_wins(personas, service, token):
    body = weight(personas.camille)
    body["code"] = {
        "coding": [
            {"system": "http://snomed.info/sct", "code": "27113001", "display": "Body weight"},
            {"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"},
        ]
    }
    assert post("Observation", body, token).status_code == 201
    assert Measure.objects.get(source=service).kind == "poids"


def _with(body: dict, **changes) -> dict:
    return {**body, **changes}


def test_refused_observations_answer_an_operation_outcome_and_store_nothing(personas, service, token):
    camille = personas.camille
    base = weight(camille)
    future = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    cases = [
        (_with(base, valueQuantity={"value": 72, "system": "http://unitsofmeasure.org", "code": "cm"}), "convertie"),
        (_with(base, valueQuantity={"value": 900, "system": "http://unitsofmeasure.org", "code": "kg"}), "plausible"),
        (_with(base, effectiveDateTime=future), "futur"),
        (
            _with(
                base,
                code={"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
                valueQuantity={"value": 7, "system": "http://unitsofmeasure.org", "code": "mmol/L"},
            ),
            "molaire",
        ),
    ]
    for body, message in cases:
        outcome = assert_outcome(post("Observation", body, token), 400)
        assert message in outcome["issue"][0]["diagnostics"], outcome
        assert outcome["issue"][0]["code"] == "value"
    assert not Measure.objects.exists()


def test_a_duplicate_identifier_is_refused_with_409_and_stored_once(personas, service, token):
    body = _with(weight(personas.camille), identifier=[{"value": "pesee-2026-001"}])
    assert post("Observation", body, token).status_code == 201
    outcome = assert_outcome(post("Observation", body, token), 409)
    assert outcome["issue"][0]["code"] == "duplicate"
    assert Measure.objects.filter(source=service).count() == 1
    refused = AuditEvent.objects.filter(action=Action.SERVICE_API_REFUSED, data__reason="duplicate")
    assert refused.count() == 1
    entry = _with(appointment(personas.camille), identifier=[{"value": "rdv-001"}])
    assert post("Appointment", entry, token).status_code == 201
    assert_outcome(post("Appointment", entry, token), 409)
    assert AgendaEntry.objects.filter(source_service=service).count() == 1


def test_an_appointment_sent_by_a_service_is_in_the_agenda_and_the_feed(personas, camille_client, service, token):
    response = post("Appointment", appointment(personas.camille), token)
    assert response.status_code == 201, response.content
    Appointment.model_validate(response.json())
    entry = AgendaEntry.objects.get(source_service=service)
    assert entry.professional_name == "Dr Karim Haddad" and entry.note == "Téléconsultation de suivi"

    page = camille_client.get(reverse("agenda:index")).content.decode()
    assert "Rendez-vous : Dr Karim Haddad" in page and "ajouté par Tensio Test" in page
    month = camille_client.get(reverse("agenda:month") + f"?mois={entry.local_start:%Y-%m}").content.decode()
    assert "Rendez-vous : Dr Karim Haddad — " not in month and "(ajouté par Tensio Test)" in month
    detail = camille_client.get(reverse("agenda:entry_detail", args=[entry.public_id])).content.decode()
    assert "ajouté par Tensio Test" in detail

    token_feed = agenda_services.feed_renew(by=Actor.for_user(personas.camille.user, verified=True))
    feed = Client().get(reverse("agenda:feed", args=[token_feed]))
    assert feed.status_code == 200
    (event,) = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert str(event["UID"]).startswith(str(entry.public_id))
    assert str(event["SUMMARY"]) == "Rendez-vous : Dr Karim Haddad"

    bundle = Bundle.model_validate(Client().get("/api/v1/Appointment", **bearer(token)).json())
    assert [e.resource.id for e in bundle.entry] == [str(entry.public_id)]


def test_the_agenda_query_count_stays_flat_with_service_entries(
    personas, camille_client, service, token, django_assert_num_queries, django_assert_max_num_queries
):
    assert post("Appointment", appointment(personas.camille), token).status_code == 201
    with django_assert_max_num_queries(40) as first:
        assert camille_client.get(reverse("agenda:index")).status_code == 200
    count = len(first.captured_queries)
    other = make_service("Agenda Deux", redirect_uri="https://tensio.example/oauth/callback")
    other_token = connect_and_get_tokens(camille_client, Client(), other, LABELS)["access_token"]
    for days in (4, 5, 6):
        start = timezone.now() + datetime.timedelta(days=days)
        body = appointment(
            personas.camille, start=start.isoformat(), end=(start + datetime.timedelta(hours=1)).isoformat()
        )
        assert post("Appointment", body, other_token).status_code == 201
    with django_assert_num_queries(count):
        response = camille_client.get(reverse("agenda:index"))
    assert response.content.decode().count("ajouté par Agenda Deux") == 3


def test_a_service_reads_back_the_patients_own_measures(personas, service, token):
    camille = Actor.for_user(personas.camille.user, verified=True)
    own = profil_services.measure_add(
        patient=personas.camille,
        kind="tension",
        value=Decimal("121"),
        value2=Decimal("78"),
        measured_on=timezone.localdate(),
        by=camille,
    )
    response = Client().get("/api/v1/Observation", **bearer(token))
    bundle = Bundle.model_validate(response.json())
    assert [e.resource.id for e in bundle.entry] == [str(own.public_id)]
    resource = response.json()["entry"][0]["resource"]
    assert resource["code"]["coding"][0]["code"] == "85354-9"
    assert resource["performer"] == [{"reference": f"Patient/{personas.camille.public_id}"}]
    assert resource["effectiveDateTime"] == timezone.localdate().isoformat()


def test_an_edit_by_the_patient_bumps_the_appointments_version(personas, service, token):
    assert post("Appointment", appointment(personas.camille), token).status_code == 201
    entry = AgendaEntry.objects.get(source_service=service)
    agenda_services.entry_cancel(entry=entry, by=Actor.for_user(personas.camille.user, verified=True))
    read = Client().get(f"/api/v1/Appointment/{entry.public_id}", **bearer(token)).json()
    Appointment.model_validate(read)
    assert read["status"] == "cancelled" and read["meta"]["versionId"] == "2"
