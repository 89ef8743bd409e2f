"""SMART App Launch 2 on the catalogue's OAuth server, in-process: discovery, scopes, aud, the consent written
only after every check, the token response, OpenID Connect claims, CORS (catalogue/smart.py, oauth.py,
discovery.py, cors.py). tests/catalogue/test_smart_clients.py runs the same flows with Authlib over HTTP."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from catalogue import smart
from catalogue.models import AuthorizationCodeUse, Connection
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.catalogue.helpers import authorize_url, code_from, make_service, pkce, purpose_ids, token_request

pytestmark = pytest.mark.django_db

DISCOVERY = (
    "/.well-known/smart-configuration",
    "/api/v1/.well-known/smart-configuration",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
)


@pytest.fixture
def camille_client(client, session_as, personas):
    session_as(client, "camille")
    return client


def _tokens(client, service, scope: str, labels: tuple[str, ...], **extra) -> dict:
    verifier, challenge = pkce()
    url = authorize_url(service, challenge, scope=scope, **extra)
    assert client.get(url).status_code == 200
    response = client.post(url, {"purposes": purpose_ids(service, *labels), "allow": "1"})
    assert response.status_code == 302, response.content.decode()[:500]
    response = token_request(Client(), service, code_from(response["Location"]), verifier)
    assert response.status_code == 200, response.content
    return response.json()


# --- Scopes (no database) ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "consented", "granted", "data"),
    [
        (["patient/Observation.rs"], {"measures:read"}, ["patient/Observation.rs"], {"measures:read"}),
        (["patient/Observation.cruds"], {"measures:read"}, ["patient/Observation.rs"], {"measures:read"}),
        (["patient/Observation.cruds"], {"measures:write"}, ["patient/Observation.cu"], {"measures:write"}),
        (["patient/Observation.c"], {"measures:read"}, [], set()),
        (["patient/Observation.read"], {"measures:read", "agenda:read"}, ["patient/Observation.read"],
         {"measures:read"}),
        (["patient/Observation.*"], {"measures:read"}, ["patient/Observation.read"], {"measures:read"}),
        (["patient/*.rs"], {"measures:read", "agenda:write"}, ["patient/*.rs"], {"measures:read"}),
        (["patient/*.read", "launch/patient", "openid", "fhirUser", "offline_access"], {"documents:read"},
         ["patient/*.read", "launch/patient", "openid", "fhirUser", "offline_access"], {"documents:read"}),
        (["patient/Patient.rs"], set(), ["patient/Patient.rs"], set()),
        (["measures:write", "documents:read"], {"measures:write"}, ["measures:write"], {"measures:write"}),
    ],
)  # fmt: skip
def test_a_request_is_granted_what_the_consent_covers(requested, consented, granted, data):
    result = smart.grant(requested, consented)
    assert result.client_scopes == granted
    assert result.data_scopes == data


@pytest.mark.parametrize(
    "scope",
    [
        "user/Observation.rs",  # only patient-level access
        "system/*.rs",
        "patient/Observation.rs?category=vital-signs",  # granular scopes
        "patient/Observation.sr",  # v2 order is c r u d s
        "patient/Observation.x",
        "patient/Condition.rs",  # not served
        "patient/Patient.c",  # identity is read-only
        "patient/Appointment.rs",  # not among this service's purposes
        "patient/Observation.d",  # nothing to delete
        "launch",  # no EHR launch
        "prescriptions:write",
        "agenda:read",
    ],
)
def test_scopes_outside_the_service_purposes_are_refused_with_a_reason(scope):
    with pytest.raises(smart.ScopeRefused) as refused:
        smart.check_requested([scope], {"measures:read", "measures:write", "documents:read"})
    assert str(refused.value)


def test_the_client_sees_its_smart_scopes_only():
    stored = "patient/Observation.rs launch/patient measures:read connection:6f1c2b9e-0000-4000-8000-000000000000"
    assert smart.client_scopes(stored) == "patient/Observation.rs launch/patient"
    assert smart.client_scopes("measures:read connection:x") == "measures:read connection:x"  # as before


# --- Discovery -----------------------------------------------------------------------------------------------


def test_discovery_documents_are_public_json_from_one_source(client):
    documents = {}
    for path in DISCOVERY:
        response = client.get(path, HTTP_ORIGIN="https://app.example")
        assert response.status_code == 200, path
        assert response["Content-Type"] == "application/json"
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response
        documents[path] = response.json()
    smart_configuration = documents["/api/v1/.well-known/smart-configuration"]
    assert smart_configuration == documents["/.well-known/smart-configuration"]
    assert documents["/.well-known/oauth-authorization-server"] == documents["/.well-known/openid-configuration"]
    assert {k: v for k, v in smart_configuration.items() if k != "capabilities"} == documents[
        "/.well-known/openid-configuration"
    ]
    assert smart_configuration["issuer"] == "http://testserver"
    assert smart_configuration["authorization_endpoint"] == "http://testserver/oauth/authorize/"
    assert smart_configuration["token_endpoint"] == "http://testserver/oauth/token/"
    assert smart_configuration["revocation_endpoint"] == "http://testserver/oauth/revoke_token/"
    assert smart_configuration["introspection_endpoint"] == "http://testserver/oauth/introspect/"
    assert smart_configuration["jwks_uri"] == "http://testserver/oauth/jwks/"
    assert smart_configuration["code_challenge_methods_supported"] == ["S256"]
    assert smart_configuration["token_endpoint_auth_methods_supported"] == ["private_key_jwt", "none"]
    assert set(smart_configuration["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert smart_configuration["response_types_supported"] == ["code"]
    assert {"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs"} <= set(
        smart_configuration["scopes_supported"]
    )
    assert set(smart_configuration["capabilities"]) >= {
        "launch-standalone",
        "client-public",
        "client-confidential-asymmetric",
        "context-standalone-patient",
        "permission-v2",
        "permission-v1",
        "permission-patient",
        "permission-offline",
        "sso-openid-connect",
    }
    jwks = client.get("/oauth/jwks/").json()
    assert [key["kty"] for key in jwks["keys"]] == ["RSA"] and "d" not in jwks["keys"][0]


# --- aud, and nothing written for a refused request ------------------------------------------------------------


def _snapshot():
    connection = Connection.objects.get()
    return (
        sorted(connection.purposes.values_list("pk", flat=True)),
        connection.purposes_changed_at,
        Connection.objects.count(),
        Grant.objects.count(),
        AccessToken.objects.count(),
        RefreshToken.objects.count(),
        AuthorizationCodeUse.objects.count(),
        AuditEvent.objects.filter(action=Action.SERVICE_PURPOSES_CHANGED).count(),
    )


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"aud": "https://autre-serveur.example/fhir"}, "invalid_request"),
        ({"aud": ""}, "invalid_request"),
        ({"aud": "http://testserver/api/v1/Patient"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "patient/Observation.rs user/*.rs"}, "invalid_scope"),
        ({"scope": "patient/Binary.c"}, "invalid_scope"),
    ],
)
def test_a_refused_request_changes_no_consent_and_is_traced(personas, camille_client, extra, error):
    service = make_service()
    _tokens(camille_client, service, "patient/Observation.c launch/patient", ("Importer mes mesures",))
    before = _snapshot()
    refusals = AuditEvent.objects.filter(patient=personas.camille, action=Action.SERVICE_API_REFUSED).count()
    verifier, challenge = pkce()
    url = authorize_url(service, verifier if extra.get("code_challenge_method") else challenge, **extra)
    everything = purpose_ids(service, "Importer mes mesures", "Consulter mes mesures", "Consulter mes documents")
    for response in (camille_client.get(url), camille_client.post(url, {"purposes": everything, "allow": "1"})):
        assert response.status_code == 302, response.content.decode()[:300]
        query = parse_qs(urlsplit(response["Location"]).query)
        assert query["error"] == [error] and query["state"] == ["etat-42"] and "code" not in query
        assert query["error_description"][0]
        assert response["Location"].startswith("https://tensio.example/oauth/callback?")
    assert _snapshot() == before
    after = AuditEvent.objects.filter(patient=personas.camille, action=Action.SERVICE_API_REFUSED).count()
    assert after == refusals + 2


def test_the_fhir_base_url_with_a_trailing_slash_is_the_same_audience(camille_client):
    service = make_service()
    verifier, challenge = pkce()
    response = camille_client.get(authorize_url(service, challenge, aud="http://testserver/api/v1/"))
    assert response.status_code == 200


def test_the_consent_page_shows_purposes_not_scope_strings(camille_client):
    service = make_service()
    _verifier, challenge = pkce()
    page = camille_client.get(
        authorize_url(service, challenge, scope="launch/patient openid fhirUser patient/Observation.rs")
    ).content.decode()
    assert "Consulter mes mesures" in page and "lire vos mesures" in page
    for scope in ("patient/", "launch/patient", "fhirUser", "measures:read"):
        assert scope not in page
    assert page.count("checked") == 1  # the purpose behind patient/Observation.rs is ticked beforehand


# --- The token response ------------------------------------------------------------------------------------------


def test_the_token_response_names_the_patient_and_the_granted_smart_scopes(personas, camille_client):
    service = make_service()
    tokens = _tokens(
        camille_client,
        service,
        "launch/patient offline_access patient/Patient.rs patient/Observation.cruds patient/Appointment.rs",
        ("Consulter mes mesures",),
    )
    assert tokens["patient"] == str(personas.camille.public_id)
    assert tokens["scope"].split() == [
        "launch/patient",
        "offline_access",
        "patient/Patient.rs",
        "patient/Observation.rs",
    ]  # Appointment: not consented; Observation: read only
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"] and "id_token" not in tokens
    stored = AccessToken.objects.get().scope.split()
    assert "measures:read" in stored and Connection.objects.get().scope_tag in stored
    api = Client()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert api.get("/api/v1/Observation", **bearer).status_code == 200
    assert api.get("/api/v1/Appointment", **bearer).status_code == 403

    refreshed = api.post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": service.oauth_client_id,
        },
    ).json()
    assert refreshed["patient"] == tokens["patient"] and refreshed["scope"] == tokens["scope"]
    assert api.get("/api/v1/Observation", HTTP_AUTHORIZATION=f"Bearer {refreshed['access_token']}").status_code == 200


def test_introspection_answers_the_client_its_own_tokens_only(personas, camille_client):
    service = make_service()
    other = make_service("Autre Service")
    tokens = _tokens(camille_client, service, "launch/patient patient/Observation.rs", ("Consulter mes mesures",))
    api = Client()
    mine = api.post("/oauth/introspect/", {"token": tokens["access_token"], "client_id": service.oauth_client_id})
    assert mine.status_code == 200, mine.content
    assert mine.json() == {
        "active": True,
        "scope": "launch/patient patient/Observation.rs",
        "client_id": service.oauth_client_id,
        "token_type": "Bearer",
        "exp": mine.json()["exp"],
        "patient": str(personas.camille.public_id),
    }
    theirs = api.post("/oauth/introspect/", {"token": tokens["access_token"], "client_id": other.oauth_client_id})
    assert theirs.json() == {"active": False}
    assert api.post("/oauth/introspect/", {"token": tokens["access_token"]}).status_code in (400, 401)


# --- OpenID Connect claims ---------------------------------------------------------------------------------------


def _claims(id_token: str) -> dict:
    import base64

    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_id_token_names_the_patient_as_fhir_user_with_a_pairwise_subject(personas, camille_client):
    first, second = make_service(), make_service("Autre Service")
    scope = "openid fhirUser launch/patient patient/Observation.rs"
    tokens = _tokens(camille_client, first, scope, ("Consulter mes mesures",), nonce="n-0S6")
    claims = _claims(tokens["id_token"])
    assert claims["fhirUser"] == f"http://testserver/api/v1/Patient/{personas.camille.public_id}"
    assert claims["iss"] == "http://testserver" and claims["aud"] == first.oauth_client_id
    assert claims["nonce"] == "n-0S6"
    user = personas.camille.user
    assert claims["sub"] not in (personas.camille.nir, user.email, str(user.pk), str(user.public_id))
    again = _claims(_tokens(camille_client, first, scope, ("Consulter mes mesures",))["id_token"])
    assert again["sub"] == claims["sub"]  # stable
    elsewhere = _claims(_tokens(camille_client, second, scope, ("Consulter mes mesures",))["id_token"])
    assert elsewhere["sub"] != claims["sub"]  # pairwise


def test_a_representative_gets_no_fhir_user_of_the_child(personas, client, session_as):
    session_as(client, "julien")
    assert client.post("/profil-actif/", {"profile": str(personas.leo.public_id)}).status_code == 302
    service = make_service()
    tokens = _tokens(
        client, service, "openid fhirUser launch/patient patient/Observation.rs", ("Consulter mes mesures",)
    )
    assert tokens["patient"] == str(personas.leo.public_id)
    claims = _claims(tokens["id_token"])
    assert "fhirUser" not in claims and claims["sub"]


# --- CORS ----------------------------------------------------------------------------------------------------------


def _registered_origin(service, origin="https://app.tensio.example"):
    application = service.application
    application.allowed_origins = origin
    application.save(update_fields=["allowed_origins"])
    return origin


@pytest.mark.parametrize(
    "path", ["/oauth/token/", "/oauth/revoke_token/", "/oauth/introspect/", "/api/v1/Observation"]
)
def test_a_registered_origin_gets_cors_headers_and_its_preflight_answered(db, path):
    origin = _registered_origin(make_service())
    client = Client()
    preflight = client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == origin
    assert {"Authorization", "Content-Type", "Prefer", "If-None-Match"} <= set(
        preflight["Access-Control-Allow-Headers"].split(", ")
    )
    assert "POST" in preflight["Access-Control-Allow-Methods"] and int(preflight["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in preflight
    response = client.post(path, {}, HTTP_ORIGIN=origin)
    assert response["Access-Control-Allow-Origin"] == origin and "Origin" in response["Vary"]
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://app.tensio.example.evil.example", "null", "https://app.tensio"]
)
def test_an_unknown_origin_gets_no_cors_header(db, origin):
    _registered_origin(make_service())
    client = Client()
    preflight = client.options("/api/v1/Observation", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    response = client.get("/api/v1/Observation", HTTP_ORIGIN=origin)
    for answer in (preflight, response):
        assert not any(name.startswith("Access-Control-") for name in answer.headers), answer.headers
