"""The data-exchange API end to end with the Django test client: OAuth 2.0 + PKCE, FHIR R4 shapes
(validated with fhir.resources), scopes from the accepted purposes, refusals, throttling, audit."""

import datetime
import json

import pytest
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from oauth2_provider.models import AccessToken

from agenda.models import AgendaEntry
from catalogue import services
from catalogue.enums import ServiceStatus
from catalogue.models import Connection
from dossier.enums import AuthorKind, DocumentCategory
from dossier.models import Document
from dossier.services import document_add_generated
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action, ActorRole
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

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FHIR = "application/fhir+json; charset=utf-8"


def weight(patient, value=72.4) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]},
        "subject": {"reference": f"Patient/{patient.public_id}"},
        "effectiveDateTime": (timezone.now() - datetime.timedelta(hours=1)).isoformat(),
        "valueQuantity": {"value": value, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    }


def add_document(patient, *, title: str, category: str) -> Document:
    actor = Actor.for_user(patient.user, verified=True)
    return document_add_generated(
        patient=patient,
        by=actor,
        content=PDF,
        filename=f"{title}.pdf",
        content_type="application/pdf",
        title=title,
        category=category,
        author_kind=AuthorKind.PATIENT,
    )


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def assert_outcome(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == FHIR
    OperationOutcome.model_validate(response.json())
    return response.json()


@pytest.fixture
def service(db):
    return make_service()


@pytest.fixture
def camille_client(client, login_as):
    login_as(client, "camille")
    return client


@pytest.fixture
def tokens(camille_client, service):
    return connect_and_get_tokens(
        camille_client, Client(), service, ("Importer mes mesures", "Consulter mes documents")
    )


def test_whole_exchange_within_scope(personas, service, tokens):
    camille = personas.camille
    bio = add_document(camille, title="Bilan lipidique", category=DocumentCategory.BIOLOGIE)
    add_document(camille, title="Ordonnance kiné", category=DocumentCategory.ORDONNANCES)
    api = Client()
    assert "connection:" in tokens["scope"] and "measures:write" in tokens["scope"]
    assert tokens["expires_in"] <= 600

    response = api.post(
        "/api/v1/Observation", json.dumps(weight(camille)), content_type=FHIR, **bearer(tokens["access_token"])
    )
    assert response.status_code == 201, response.content
    observation = Observation.model_validate(response.json())
    assert float(observation.valueQuantity.value) == pytest.approx(72.4)
    assert Measure.objects.get(source=service).patient == camille

    response = api.get("/api/v1/DocumentReference", **bearer(tokens["access_token"]))
    assert response.status_code == 200
    found = Bundle.model_validate(response.json())
    assert [entry.resource.id for entry in found.entry] == [str(bio.public_id)]
    DocumentReference.model_validate(response.json()["entry"][0]["resource"])

    response = api.get(f"/api/v1/Binary/{bio.public_id}", HTTP_ACCEPT=FHIR, **bearer(tokens["access_token"]))
    assert Binary.model_validate(response.json()).contentType == "application/pdf"
    response = api.get(f"/api/v1/Binary/{bio.public_id}", **bearer(tokens["access_token"]))
    assert response.content == PDF

    events = AuditEvent.objects.filter(patient=camille, actor_role=ActorRole.SYSTEM, actor_label=service.name)
    assert events.filter(action=Action.MEASURE_ADDED).count() == 1
    assert events.filter(action=Action.SERVICE_API_READ).count() == 3


def test_refused_outside_consented_purposes(personas, service, tokens):
    camille = personas.camille
    ordonnance = add_document(camille, title="Ordonnance", category=DocumentCategory.ORDONNANCES)
    api = Client()
    assert_outcome(api.get("/api/v1/Observation", **bearer(tokens["access_token"])), 403)  # measures:read not given
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "description": "Consultation",
        "start": "2030-01-02T10:00:00+01:00",
        "end": "2030-01-02T10:30:00+01:00",
        "participant": [{"actor": {"reference": f"Patient/{camille.public_id}"}, "status": "accepted"}],
    }
    assert_outcome(
        api.post("/api/v1/Appointment", json.dumps(body), content_type=FHIR, **bearer(tokens["access_token"])), 403
    )
    assert_outcome(api.get(f"/api/v1/DocumentReference/{ordonnance.public_id}", **bearer(tokens["access_token"])), 404)
    assert_outcome(api.get(f"/api/v1/Binary/{ordonnance.public_id}", **bearer(tokens["access_token"])), 404)
    assert not AgendaEntry.objects.filter(source_service__isnull=False).exists()
    refused = AuditEvent.objects.filter(patient=camille, action=Action.SERVICE_API_REFUSED, actor_label=service.name)
    assert refused.count() == 4


def test_another_patient_and_malformed_json_write_nothing(personas, service, tokens):
    api = Client()
    other = weight(personas.julien)
    assert_outcome(
        api.post("/api/v1/Observation", json.dumps(other), content_type=FHIR, **bearer(tokens["access_token"])), 403
    )
    assert_outcome(
        api.get(f"/api/v1/DocumentReference?patient={personas.julien.public_id}", **bearer(tokens["access_token"])),
        403,
    )
    assert_outcome(
        api.post("/api/v1/Observation", "{pas du json", content_type=FHIR, **bearer(tokens["access_token"])), 400
    )
    wrong_unit = weight(personas.camille)
    wrong_unit["valueQuantity"]["code"] = "lb"
    assert_outcome(
        api.post("/api/v1/Observation", json.dumps(wrong_unit), content_type=FHIR, **bearer(tokens["access_token"])),
        400,
    )
    implausible = weight(personas.camille, value=900)
    assert_outcome(
        api.post("/api/v1/Observation", json.dumps(implausible), content_type=FHIR, **bearer(tokens["access_token"])),
        400,
    )
    assert not Measure.objects.exists()
    reasons = list(
        AuditEvent.objects.filter(patient=personas.camille, action=Action.SERVICE_API_REFUSED).values_list(
            "data__reason", flat=True
        )
    )
    assert sorted(reasons) == ["foreign_patient", "foreign_patient", "invalid", "invalid", "invalid"]


def test_missing_unknown_expired_and_revoked_tokens(personas, service, tokens):
    api = Client()
    assert_outcome(api.get("/api/v1/DocumentReference"), 401)
    assert_outcome(api.get("/api/v1/DocumentReference", **bearer("inconnu")), 401)
    AccessToken.objects.update(expires=timezone.now() - datetime.timedelta(seconds=5))
    response = api.get("/api/v1/DocumentReference", **bearer(tokens["access_token"]))
    assert_outcome(response, 401)
    assert "Bearer" in response["WWW-Authenticate"]
    assert AuditEvent.objects.filter(patient=personas.camille, data__reason="expired_token").exists()

    # Refresh gives a new short-lived token for the same connection.
    response = api.post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": service.oauth_client_id,
        },
    )
    assert response.status_code == 200, response.content
    refreshed = response.json()
    assert api.get("/api/v1/DocumentReference", **bearer(refreshed["access_token"])).status_code == 200

    connection = Connection.objects.get()
    services.connection_disconnect(connection=connection, by=Actor.for_user(personas.camille.user, verified=True))
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
    assert AuditEvent.objects.filter(patient=personas.camille, data__reason="expired_token").count() == 2


def test_suspended_service_is_refused(personas, service, tokens):
    agent = Actor.for_user(personas.agent_cpam.user, verified=True)
    services.service_status_set(service=service, status=ServiceStatus.SUSPENDED, by=agent)
    api = Client()
    outcome = assert_outcome(
        api.post(
            "/api/v1/Observation",
            json.dumps(weight(personas.camille)),
            content_type=FHIR,
            **bearer(tokens["access_token"]),
        ),
        403,
    )
    assert outcome["issue"][0]["code"] == "forbidden"  # an R4 IssueType ("suspended" is none)
    assert not Measure.objects.exists()
    assert AuditEvent.objects.filter(patient=personas.camille, data__reason="suspended").exists()


def test_rate_limit_per_token(personas, service, tokens, settings):
    settings.CATALOGUE_API_RATE_PER_MINUTE = 3
    api = Client()
    statuses = [api.get("/api/v1/DocumentReference", **bearer(tokens["access_token"])).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    response = api.get("/api/v1/DocumentReference", **bearer(tokens["access_token"]))
    assert_outcome(response, 429)
    assert int(response["Retry-After"]) > 0


def test_appointments_and_documents_written_by_a_service(personas, camille_client, service):
    tokens = connect_and_get_tokens(camille_client, Client(), service, ("Partager mes rendez-vous",))
    api = Client()
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "description": "Téléconsultation de suivi",
        "start": "2030-01-02T10:00:00+01:00",
        "end": "2030-01-02T10:30:00+01:00",
        "participant": [{"actor": {"reference": f"Patient/{personas.camille.public_id}"}, "status": "accepted"}],
    }
    response = api.post("/api/v1/Appointment", json.dumps(body), content_type=FHIR, **bearer(tokens["access_token"]))
    assert response.status_code == 201, response.content
    Appointment.model_validate(response.json())
    response = api.get("/api/v1/Appointment", **bearer(tokens["access_token"]))
    bundle = Bundle.model_validate(response.json())
    assert bundle.total == 1
    Appointment.model_validate(response.json()["entry"][0]["resource"])
    reversed_body = {**body, "end": "2030-01-02T09:00:00+01:00"}
    assert_outcome(
        api.post(
            "/api/v1/Appointment", json.dumps(reversed_body), content_type=FHIR, **bearer(tokens["access_token"])
        ),
        400,
    )


def test_service_adds_a_document(personas, camille_client, db):
    from catalogue.models import Purpose

    service = make_service("Téléconsult Test")
    Purpose.objects.create(service=service, label="Déposer des documents", scopes="documents:write", position=5)
    tokens = connect_and_get_tokens(camille_client, Client(), service, ("Déposer des documents",))
    import base64

    body = {
        "resourceType": "DocumentReference",
        "status": "current",
        "description": "Compte rendu de téléconsultation",
        "category": [{"coding": [{"code": "comptes_rendus"}]}],
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "title": "cr.pdf",
                    "data": base64.b64encode(PDF).decode(),
                }
            }
        ],
    }
    api = Client()
    response = api.post(
        "/api/v1/DocumentReference", json.dumps(body), content_type=FHIR, **bearer(tokens["access_token"])
    )
    assert response.status_code == 201, response.content
    DocumentReference.model_validate(response.json())
    document = Document.objects.get(title="Compte rendu de téléconsultation")
    assert document.author_kind == AuthorKind.SERVICE and document.author_label == service.name
    assert AuditEvent.objects.filter(
        action=Action.DOCUMENT_ADDED, actor_label=service.name, patient=personas.camille
    ).exists()
    fake = {
        **body,
        "content": [{"attachment": {"title": "cr.pdf", "data": base64.b64encode(b"MZ\x90binaire").decode()}}],
    }
    assert_outcome(
        api.post("/api/v1/DocumentReference", json.dumps(fake), content_type=FHIR, **bearer(tokens["access_token"])),
        400,
    )


def test_authorize_refuses_unknown_scope_and_foreign_connection_tag(personas, camille_client, service):
    verifier, challenge = pkce()
    response = camille_client.get(authorize_url(service, challenge, scope="measures:write prescriptions:write"))
    assert response.status_code == 302
    assert "error=invalid_scope" in response["Location"]
    response = camille_client.get(
        authorize_url(service, challenge, scope="connection:6f1c2b9e-0000-4000-8000-000000000000")
    )
    assert "error=invalid_scope" in response["Location"]
    assert AuditEvent.objects.filter(patient=personas.camille, action=Action.SERVICE_API_REFUSED).count() == 2


def test_authorize_requires_pkce_and_refusal_redirects(personas, camille_client, service):
    verifier, challenge = pkce()
    url = authorize_url(service, challenge)
    no_pkce = url.replace("code_challenge", "x_challenge")
    response = camille_client.get(no_pkce)
    assert response.status_code == 302 and "error=invalid_request" in response["Location"]
    response = camille_client.post(url, {"refuse": "1"})
    assert "error=access_denied" in response["Location"]
    assert not Connection.objects.exists()
    # A wrong verifier is refused at the token endpoint.
    response = camille_client.post(url, {"purposes": purpose_ids(service, "Importer mes mesures"), "allow": "1"})
    response = token_request(Client(), service, code_from(response["Location"]), "mauvais-verificateur" * 3)
    assert response.status_code == 400


def test_representative_connects_for_a_child(personas, client, login_as, service):
    login_as(client, "julien")
    client.post("/profil-actif/", {"profile": str(personas.leo.public_id)})
    assert client.session.get("acting_for") == personas.leo.pk, "profile switch URL changed?"
    tokens = connect_and_get_tokens(client, Client(), service, ("Importer mes mesures",))
    response = Client().post(
        "/api/v1/Observation",
        json.dumps(weight(personas.leo, 30)),
        content_type=FHIR,
        **bearer(tokens["access_token"]),
    )
    assert response.status_code == 201
    connection = Connection.objects.get()
    assert connection.patient == personas.leo and connection.made_while_minor
