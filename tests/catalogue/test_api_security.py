"""Issue 15, item 10: what a connected service may write and read, and the OAuth flow's last holes.

- a service files documents only in the categories open to services (never "Directives anticipées", nor a
  category reserved to professionals, to the patient or to Mon espace santé itself);
- measures:read and agenda:read return only what this service itself sent for the patient;
- an authorization request is validated whole before any write (a PKCE "plain" request saves nothing);
- replaying a used authorization code revokes every token issued from it (RFC 6749 §4.1.2).
"""

import base64
import datetime
import json

import pytest
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B.observation import Observation

from agenda.models import AgendaEntry
from catalogue.models import Connection, Purpose
from dossier.enums import DocumentCategory
from dossier.habilitations import SERVICE_WRITABLE_CATEGORIES
from dossier.models import Document
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from profil.models import Measure
from tests.catalogue.helpers import (
    authorize_url,
    code_from,
    connect_and_get_tokens,
    make_service,
    pkce,
    purpose_ids,
    token_request,
)
from tests.catalogue.test_api import FHIR, PDF, assert_outcome, bearer, weight


@pytest.fixture
def camille_client(client, login_as):
    login_as(client, "camille")
    return client


def _document_body(category: str) -> dict:
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "description": "Document du service",
        "category": [{"coding": [{"code": category}]}],
        "content": [{"attachment": {"title": "doc.pdf", "data": base64.b64encode(PDF).decode()}}],
    }


def test_a_service_files_documents_only_in_the_categories_open_to_services(personas, camille_client, db):
    service = make_service("Téléconsult Catégories")
    Purpose.objects.create(service=service, label="Déposer des documents", scopes="documents:write", position=5)
    tokens = connect_and_get_tokens(camille_client, Client(), service, ("Déposer des documents",))
    api = Client()
    assert DocumentCategory.DIRECTIVES not in SERVICE_WRITABLE_CATEGORIES
    for category in DocumentCategory.values:
        response = api.post(
            "/api/v1/DocumentReference",
            json.dumps(_document_body(category)),
            content_type=FHIR,
            **bearer(tokens["access_token"]),
        )
        if category in SERVICE_WRITABLE_CATEGORIES:
            assert response.status_code == 201, (category, response.content)
        else:
            outcome = assert_outcome(response, 400)
            assert "catégorie" in outcome["issue"][0]["diagnostics"].lower(), category
    filed = set(Document.objects.filter(patient=personas.camille).values_list("category", flat=True))
    assert filed == set(SERVICE_WRITABLE_CATEGORIES)
    # The professional's view of the patient's directives never shows a service's document.
    assert not Document.objects.filter(category=DocumentCategory.DIRECTIVES).exists()


def test_a_service_reads_every_measure_and_appointment_of_the_patient(personas, camille_client, db):
    """Consent to "read my measures" (or appointments) covers the patient's data, wherever it came from: the
    patient's own entries and what other services sent. Free reminders are not appointments."""
    from decimal import Decimal

    from agenda import services as agenda_services
    from profil import services as profil_services

    ours = make_service("Tensio Nous")
    theirs = make_service("Autre Balance", redirect_uri="https://tensio.example/oauth/callback")
    labels = ("Importer mes mesures", "Consulter mes mesures", "Partager mes rendez-vous")
    our_tokens = connect_and_get_tokens(camille_client, Client(), ours, labels)
    their_tokens = connect_and_get_tokens(camille_client, Client(), theirs, labels)
    api = Client()
    appointment = {
        "resourceType": "Appointment",
        "status": "booked",
        "description": "Séance",
        "start": "2030-01-02T10:00:00+01:00",
        "end": "2030-01-02T10:30:00+01:00",
        "participant": [{"actor": {"reference": f"Patient/{personas.camille.public_id}"}, "status": "accepted"}],
    }
    for tokens, value in ((our_tokens, 70), (their_tokens, 90)):
        for path, body in (("Observation", weight(personas.camille, value)), ("Appointment", appointment)):
            response = api.post(
                f"/api/v1/{path}", json.dumps(body), content_type=FHIR, **bearer(tokens["access_token"])
            )
            assert response.status_code == 201, response.content
    camille = Actor.for_user(personas.camille.user, verified=True)
    own = profil_services.measure_add(
        patient=personas.camille,
        kind="poids",
        value=Decimal("71"),
        value2=None,
        measured_on=timezone.localdate() - datetime.timedelta(days=2),
        by=camille,
    )
    own_appointment = agenda_services.entry_create(
        patient=personas.camille,
        kind="appointment",
        professional_name="Dr Anne Martin",
        starts_at=timezone.now() + datetime.timedelta(days=3),
        by=camille,
    )
    reminder = agenda_services.entry_create(
        patient=personas.camille,
        kind="reminder",
        title="Renouveler l’ordonnance",
        starts_at=timezone.now() + datetime.timedelta(days=4),
        by=camille,
    )
    assert Measure.objects.count() == 3 and AgendaEntry.objects.count() == 4

    foreign = Measure.objects.get(source=theirs)
    observations = api.get("/api/v1/Observation", **bearer(our_tokens["access_token"])).json()
    read = {entry["resource"]["id"] for entry in observations["entry"]}
    assert read == {str(m.public_id) for m in Measure.objects.all()}
    for entry in observations["entry"]:
        Observation.model_validate(entry["resource"])
    by_id = {entry["resource"]["id"]: entry["resource"] for entry in observations["entry"]}
    assert by_id[str(foreign.public_id)]["device"]["display"] == "Autre Balance"
    assert by_id[str(own.public_id)]["performer"] == [{"reference": f"Patient/{personas.camille.public_id}"}]
    assert api.get(f"/api/v1/Observation/{foreign.public_id}", **bearer(our_tokens["access_token"])).status_code == 200

    foreign_appointment = AgendaEntry.objects.get(source_service=theirs)
    appointments = api.get("/api/v1/Appointment", **bearer(our_tokens["access_token"])).json()
    read = {entry["resource"]["id"] for entry in appointments["entry"]}
    assert str(own_appointment.public_id) in read and str(foreign_appointment.public_id) in read
    assert str(reminder.public_id) not in read and len(read) == 3
    response = api.get(f"/api/v1/Appointment/{foreign_appointment.public_id}", **bearer(our_tokens["access_token"]))
    assert response.status_code == 200
    assert_outcome(api.get(f"/api/v1/Appointment/{reminder.public_id}", **bearer(our_tokens["access_token"])), 404)


def test_a_plain_pkce_request_changes_no_consent(personas, camille_client, db):
    service = make_service()
    verifier, challenge = pkce()
    # A first, valid connection with one purpose.
    connect_and_get_tokens(camille_client, Client(), service, ("Importer mes mesures",))
    connection = Connection.objects.get()
    before = set(connection.purposes.values_list("pk", flat=True))
    events_before = AuditEvent.objects.filter(action=Action.SERVICE_PURPOSES_CHANGED).count()

    plain = authorize_url(service, verifier, code_challenge_method="plain")
    everything = purpose_ids(service, "Importer mes mesures", "Consulter mes mesures", "Consulter mes documents")
    response = camille_client.post(plain, {"purposes": everything, "allow": "1"})
    assert response.status_code == 302 and "error=invalid_request" in response["Location"]
    assert "code=" not in response["Location"]
    connection.refresh_from_db()
    assert set(connection.purposes.values_list("pk", flat=True)) == before
    assert AuditEvent.objects.filter(action=Action.SERVICE_PURPOSES_CHANGED).count() == events_before
    # The consent page itself is not shown for such a request.
    response = camille_client.get(plain)
    assert response.status_code == 302 and "error=invalid_request" in response["Location"]

    # No challenge method at all means "plain" (RFC 7636 §4.3): refused the same way.
    implicit_plain = authorize_url(service, verifier).replace("&code_challenge_method=S256", "")
    response = camille_client.post(implicit_plain, {"purposes": everything, "allow": "1"})
    assert "error=invalid_request" in response["Location"]
    connection.refresh_from_db()
    assert set(connection.purposes.values_list("pk", flat=True)) == before


def test_replaying_a_used_code_revokes_every_token_issued_from_it(personas, camille_client, db):
    service = make_service()
    verifier, challenge = pkce()
    url = authorize_url(service, challenge)
    response = camille_client.post(url, {"purposes": purpose_ids(service, "Consulter mes documents"), "allow": "1"})
    code = code_from(response["Location"])
    api = Client()
    first = token_request(api, service, code, verifier)
    assert first.status_code == 200, first.content
    tokens = first.json()
    assert api.get("/api/v1/DocumentReference", **bearer(tokens["access_token"])).status_code == 200
    # The refresh token gives a new pair: it was issued from the code too.
    refreshed = api.post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": service.oauth_client_id,
        },
    ).json()
    assert api.get("/api/v1/DocumentReference", **bearer(refreshed["access_token"])).status_code == 200

    replay = token_request(api, service, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert_outcome(api.get("/api/v1/DocumentReference", **bearer(refreshed["access_token"])), 401)
    response = api.post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": refreshed["refresh_token"],
            "client_id": service.oauth_client_id,
        },
    )
    assert response.status_code == 400
    assert AuditEvent.objects.filter(
        patient=personas.camille, action=Action.SERVICE_API_REFUSED, data__reason="code_replayed"
    ).exists()


def test_a_fresh_code_is_not_affected_by_the_replay_of_another(personas, camille_client, db):
    service = make_service()
    verifier, challenge = pkce()
    url = authorize_url(service, challenge)
    ids = purpose_ids(service, "Consulter mes documents")
    old_code = code_from(camille_client.post(url, {"purposes": ids, "allow": "1"})["Location"])
    api = Client()
    assert token_request(api, service, old_code, verifier).status_code == 200
    verifier2, challenge2 = pkce()
    url2 = authorize_url(service, challenge2)
    new_code = code_from(camille_client.post(url2, {"purposes": ids, "allow": "1"})["Location"])
    new_tokens = token_request(api, service, new_code, verifier2).json()
    assert token_request(api, service, old_code, verifier).status_code == 400
    assert api.get("/api/v1/DocumentReference", **bearer(new_tokens["access_token"])).status_code == 200
