"""The kernel's FHIR machinery (espace_sante/fhir/) through the resources every app registers: the
CapabilityStatement, search parameters, keyset paging, strict handling, ETags and OperationOutcomes.

Every response body here is also validated by FHIR.js (tests/conftest.py validates them all)."""

import datetime
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from dossier.api import CATEGORY_SYSTEM
from dossier.enums import DocumentCategory
from dossier.models import Document
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from espace_sante.fhir import search
from tests.catalogue.helpers import connect_and_get_tokens, make_service
from tests.catalogue.test_api import add_document, bearer

FHIR = "application/fhir+json; charset=utf-8"


@pytest.fixture
def service(db):
    return make_service()


@pytest.fixture
def api(personas, client, login_as, service):
    """A bearer client of the test service for Camille, consented to read her biology documents."""
    login_as(client, "camille")
    tokens = connect_and_get_tokens(client, Client(), service, ("Consulter mes documents",))
    return Client(**bearer(tokens["access_token"]))


def biology(patient, count: int, *, start: datetime.datetime | None = None) -> list[Document]:
    """`count` biology documents added one day apart, oldest first."""
    start = start or timezone.now() - datetime.timedelta(days=count)
    documents = []
    for index in range(count):
        document = add_document(patient, title=f"Bilan {index}", category=DocumentCategory.BIOLOGIE)
        Document.objects.filter(pk=document.pk).update(added_at=start + datetime.timedelta(days=index))
        documents.append(document)
    return documents


def ids(bundle: dict) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", ())]


def link(bundle: dict, relation: str) -> str | None:
    return next((item["url"] for item in bundle["link"] if item["relation"] == relation), None)


def relative(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.path}?{parsed.query}"


def outcome(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == FHIR
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    return body


@pytest.mark.django_db
def test_capability_statement_lists_what_the_server_serves(client):
    response = client.get("/api/v1/metadata")
    assert response.status_code == 200
    statement = response.json()
    assert statement["fhirVersion"] == "4.0.1"
    served = {resource["type"]: resource for resource in statement["rest"][0]["resource"]}
    assert {"Patient", "DocumentReference", "Binary"} <= set(served)
    documents = served["DocumentReference"]
    assert {i["code"] for i in documents["interaction"]} == {"read", "search-type", "create"}
    assert {"_id", "_lastUpdated", "category", "date", "patient", "_sort"} <= {
        p["name"] for p in documents["searchParam"]
    }
    assert [i["code"] for i in served["Binary"]["interaction"]] == ["read"]
    oauth = statement["rest"][0]["security"]["extension"][0]["extension"]
    assert {item["url"] for item in oauth} == {"authorize", "token", "revoke"}


@pytest.mark.django_db
def test_every_path_under_api_answers_an_operation_outcome(client):
    outcome(client.get("/api/v1/Patient"), 401, "login")
    outcome(client.get("/api/v1/Patient/not-a-uuid"), 401, "login")
    outcome(client.get("/api/v1/Nothing"), 404, "not-found")
    outcome(client.get("/api/v2/Observation"), 404, "not-found")
    outcome(client.get("/api/v1/"), 404, "not-found")
    response = outcome(client.delete("/api/v1/Patient"), 405, "not-supported")
    assert response and client.delete("/api/v1/Patient")["Allow"] == "GET, POST"
    outcome(client.get("/api/v1/metadata", HTTP_ACCEPT="application/fhir+xml"), 406, "not-supported")
    outcome(client.get("/api/v1/metadata?_format=xml"), 406, "not-supported")
    assert client.get("/api/v1/metadata", HTTP_ACCEPT="application/fhir+json").status_code == 200


def test_errors_with_a_token(personas, api):
    outcome(api.get("/api/v1/DocumentReference/not-a-uuid"), 404, "not-found")
    outcome(api.get(f"/api/v1/DocumentReference/{personas.camille.public_id}"), 404, "not-found")
    empty = api.get("/api/v1/DocumentReference")
    assert empty.status_code == 200
    assert empty.json()["total"] == 0 and "entry" not in empty.json()  # FHIR JSON has no empty arrays
    # Writing needs its own consent: checked before the body is even read.
    outcome(api.post("/api/v1/DocumentReference", "{not json", content_type="application/fhir+json"), 403, "forbidden")
    outcome(api.post("/api/v1/Patient", "{}", content_type="application/fhir+json"), 405, "not-supported")


def test_paging_reaches_every_match_once_in_both_directions(personas, api):
    documents = biology(personas.camille, 7)
    newest_first = [str(d.public_id) for d in reversed(documents)]
    first = api.get("/api/v1/DocumentReference?_count=3").json()
    assert first["total"] == 7
    assert link(first, "previous") is None
    seen, pages, bundle = ids(first), [first], first
    while link(bundle, "next"):
        bundle = api.get(relative(link(bundle, "next"))).json()
        assert bundle["total"] == 7
        pages.append(bundle)
        seen += ids(bundle)
    assert seen == newest_first
    assert [len(ids(page)) for page in pages] == [3, 3, 1]
    # A document added meanwhile does not shift the pages already handed out (keyset, not offsets).
    biology(personas.camille, 1, start=timezone.now())
    back = api.get(relative(link(pages[2], "previous"))).json()
    assert ids(back) == ids(pages[1])
    assert ids(api.get(relative(link(back, "previous"))).json()) == ids(pages[0])


def test_page_links_cannot_be_forged_or_moved_to_another_search(personas, api):
    biology(personas.camille, 4)
    bundle = api.get("/api/v1/DocumentReference?_count=2").json()
    token = parse_qs(urlparse(link(bundle, "next")).query)["_page"][0]
    outcome(api.get(f"/api/v1/DocumentReference?_count=2&_page={token[:-2]}xx"), 400, "invalid")
    outcome(api.get(f"/api/v1/DocumentReference?_count=2&date=ge2000&_page={token}"), 400, "invalid")


def test_count_sort_date_prefixes_and_tokens(personas, api):
    start = datetime.datetime(2026, 3, 1, 12, tzinfo=ZoneInfo("Europe/Paris"))
    documents = biology(personas.camille, 5, start=start)  # 1st to 5th of March 2026
    by_day = {d.title: str(d.public_id) for d in documents}

    def found(query: str) -> list[str]:
        response = api.get(f"/api/v1/DocumentReference?{query}")
        assert response.status_code == 200, response.content
        return ids(response.json())

    assert found("_sort=date") == [str(d.public_id) for d in documents]
    assert found("_sort=-date") == [str(d.public_id) for d in reversed(documents)]
    assert found("date=2026-03-02&_sort=date") == [by_day["Bilan 1"]]
    assert found("date=ge2026-03-04&_sort=date") == [by_day["Bilan 3"], by_day["Bilan 4"]]
    assert found("date=lt2026-03-02") == [by_day["Bilan 0"]]
    assert found("date=gt2026-03-04") == [by_day["Bilan 4"]]
    assert found("date=ge2026-03-02&date=le2026-03-03&_sort=date") == [by_day["Bilan 1"], by_day["Bilan 2"]]
    assert len(found("date=2026-03")) == 5 and found("date=2025") == []
    assert len(found(f"category={CATEGORY_SYSTEM}|biologie")) == 5
    assert len(found("category=biologie")) == 5
    assert found("category=http://other.example|biologie") == []
    assert found("category=imagerie") == []
    assert found(f"_id={by_day['Bilan 2']}") == [by_day["Bilan 2"]]
    assert len(found("_count=2")) == 2
    counted = api.get("/api/v1/DocumentReference?_summary=count").json()
    assert counted["total"] == 5 and "entry" not in counted
    outcome(api.get("/api/v1/DocumentReference?date=2026-13-45"), 400, "invalid")
    outcome(api.get("/api/v1/DocumentReference?_count=beaucoup"), 400, "invalid")


def test_unknown_parameters_ignored_unless_strict(personas, api):
    biology(personas.camille, 2)
    lenient = api.get("/api/v1/DocumentReference?couleur=bleu&category=biologie")
    assert lenient.json()["total"] == 2
    assert "couleur" not in link(lenient.json(), "self")  # the self link shows what was applied
    assert "category=biologie" in link(lenient.json(), "self")
    strict = api.get("/api/v1/DocumentReference?couleur=bleu", HTTP_PREFER="handling=strict")
    outcome(strict, 400, "not-supported")
    outcome(api.get("/api/v1/DocumentReference?_sort=title", HTTP_PREFER="handling=strict"), 400, "not-supported")


def test_reads_carry_meta_and_etag(personas, api):
    (document,) = biology(personas.camille, 1)
    response = api.get(f"/api/v1/DocumentReference/{document.public_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["versionId"] == "1" and body["meta"]["lastUpdated"]
    assert response["ETag"] == 'W/"1"'
    assert api.get(f"/api/v1/DocumentReference/{document.public_id}", HTTP_IF_NONE_MATCH='W/"1"').status_code == 304
    assert api.get(f"/api/v1/DocumentReference/{document.public_id}", HTTP_IF_NONE_MATCH='W/"0"').status_code == 200
    binary = api.get(f"/api/v1/Binary/{document.public_id}", HTTP_ACCEPT="application/pdf")
    assert binary.status_code == 200 and binary.content.startswith(b"%PDF")
    as_json = api.get(f"/api/v1/Binary/{document.public_id}", HTTP_ACCEPT="application/fhir+json").json()
    assert as_json["resourceType"] == "Binary" and as_json["contentType"] == "application/pdf"


def test_patient_is_the_connected_profile_only(personas, api):
    camille = personas.camille
    own = api.get(f"/api/v1/Patient/{camille.public_id}")
    assert own.status_code == 200
    body = own.json()
    assert body["birthDate"] == camille.birth_date.isoformat()
    assert body["gender"] == "female"
    assert camille.nir not in own.content.decode() and camille.email not in own.content.decode()
    assert ids(api.get(f"/api/v1/Patient?_id={camille.public_id}").json()) == [str(camille.public_id)]
    assert ids(api.get("/api/v1/Patient").json()) == [str(camille.public_id)]
    other = api.get(f"/api/v1/Patient/{personas.julien.public_id}")
    outcome(other, 404, "not-found")
    assert personas.julien.birth_name not in other.content.decode()
    assert api.get(f"/api/v1/Patient?_id={personas.julien.public_id}").json()["total"] == 0


def test_missing_scope_names_the_scope_and_is_traced(personas, client, login_as, service):
    login_as(client, "camille")
    tokens = connect_and_get_tokens(client, Client(), service, ("Importer mes mesures",))
    api = Client(**bearer(tokens["access_token"]))
    response = api.get("/api/v1/DocumentReference")
    outcome(response, 403, "forbidden")
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert 'scope="patient/DocumentReference.rs"' in response["WWW-Authenticate"]
    refused = AuditEvent.objects.filter(patient=personas.camille, action=Action.SERVICE_API_REFUSED).last()
    assert refused.data["reason"] == "scope"
    assert api.get(f"/api/v1/Patient/{personas.camille.public_id}").status_code == 200


def test_another_patients_search_is_refused_with_nothing_of_them(personas, api):
    julien = personas.julien
    for query in (f"patient={julien.public_id}", f"subject=Patient/{julien.public_id}"):
        response = api.get(f"/api/v1/DocumentReference?{query}")
        outcome(response, 403, "forbidden")
        assert julien.birth_name not in response.content.decode()
    own = api.get(f"/api/v1/DocumentReference?patient={personas.camille.public_id}")
    assert own.status_code == 200


@given(value=st.one_of(st.text(max_size=30), st.from_regex(search.DATE_VALUE, fullmatch=True)))
@examples(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_search_date_makes_the_server_fail(personas, api, settings, value):
    """Any `date` / `_lastUpdated` value, from garbage to year 0000 or 9999: a Bundle or a 400, never a 500."""
    settings.CATALOGUE_API_RATE_PER_MINUTE = 10**6
    for name in ("date", "_lastUpdated", "period"):
        for prefix in ("", "ge", "lt"):
            response = api.get("/api/v1/DocumentReference", {name: prefix + value})
            assert response.status_code in (200, 400), (name, prefix + value, response.status_code)
            if response.status_code == 400:
                assert response.json()["issue"][0]["code"] == "invalid"
