"""Establishments' and professionals' software clients (issue 17, "Actors"): OAuth 2.0 client credentials with
private_key_jwt (RFC 7523) on /oauth/token/, with Authlib as the independent client against the live server
(real PostgreSQL and Redis), and their tokens on the FHIR server through the authenticator chain."""

import time

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import RSAKey
from oauth2_provider.models import get_access_token_model

from accounts.enums import EstablishmentKind
from accounts.establishments import establishment_create, software_client_rotate, software_client_save
from accounts.models import SoftwareClient
from catalogue.oauth_clients import ClientSettings, oauth_client_set
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.catalogue.helpers import REDIRECT_URI, make_service

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = "system/DocumentReference.crs system/Binary.r"
CHU_FINESS = "310781406"  # CHU de Toulouse


class ShortPrivateKeyJWT(PrivateKeyJWT):
    """Assertions that expire within five minutes (Authlib signs for an hour by default)."""

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            alg=self.alg,
            header=dict(self.headers or {}),
            expires_in=300,
        )


@pytest.fixture
def site(live_server, settings):
    settings.SITE_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    yield live_server.url
    from django.db import connection

    for _ in range(50):  # let the live server's threads close their connections before the database is dropped
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                break
        time.sleep(0.1)


@pytest.fixture
def sessions(site):
    opened = []

    def open_session(*args, **kwargs) -> OAuth2Session:
        opened.append(OAuth2Session(*args, **kwargs))
        return opened[-1]

    yield open_session
    for session in opened:
        session.close()


def make_software(key: RSAKey, *, professional=None, name="DxCare", finess=CHU_FINESS) -> SoftwareClient:
    establishment = establishment_create(
        finess=finess, name="CHU de Toulouse", kind=EstablishmentKind.HOSPITAL, by=None
    )
    software = SoftwareClient(
        name=name,
        establishment=establishment,
        professional=professional,
        oauth_jwks={"keys": [key.as_dict(private=False)]},
    )
    return software_client_save(software=software, by=None)


def _post_token(site, data) -> requests.Response:
    return requests.post(f"{site}/oauth/token/", data=data, timeout=10)


def _assertion_data(client_id, assertion, scope=SCOPE) -> dict:
    return {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_id": client_id,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }


def test_a_hospital_software_gets_a_token_with_private_key_jwt(site, personas, sessions):
    key = RSAKey.generate_key(2048, parameters={"kid": "chu-1"}, private=True)
    software = make_software(key)
    oauth = sessions(
        software.oauth_client_id,
        key,
        scope=SCOPE,
        token_endpoint_auth_method=ShortPrivateKeyJWT(alg="RS256", headers={"kid": "chu-1"}),
    )
    token = oauth.fetch_token(f"{site}/oauth/token/", grant_type="client_credentials")
    assert token["token_type"] == "Bearer" and "refresh_token" not in token
    assert set(token["scope"].split()) == set(SCOPE.split())  # the binding tag is stored, never shown
    assert 0 < token["expires_in"] <= 600
    stored = get_access_token_model().objects.get(application__client_id=software.oauth_client_id)
    assert software.scope_tag in stored.scope.split()

    # On the FHIR server: recognised (not "unknown token"), and refused on every patient-bound type.
    for path in ("Observation", "Patient", "DocumentReference", "Binary/1", "Appointment"):
        response = oauth.get(f"{site}/api/v1/{path}", timeout=10)
        assert response.status_code == 403, (path, response.content)
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]
        assert "entry" not in response.json() and response.json()["resourceType"] == "OperationOutcome"
    refusal = AuditEvent.objects.filter(action=Action.SOFTWARE_API_REFUSED).latest("pk")
    assert refusal.patient is None and refusal.actor_label == "CHU de Toulouse"
    assert refusal.data["reason"] == "scope"


def test_refused_assertions_and_requests(site, personas):
    key = RSAKey.generate_key(2048, parameters={"kid": "chu-1"}, private=True)
    software = make_software(key)
    client_id = software.oauth_client_id
    endpoint = f"{site}/oauth/token/"
    other_key = RSAKey.generate_key(2048, parameters={"kid": "autre"}, private=True)
    other = make_software(other_key, name="Labo", finess="750712184")
    stranger = RSAKey.generate_key(2048, parameters={"kid": "chu-1"}, private=True)
    now = int(time.time())
    refused = {
        "wrong key": private_key_jwt_sign(stranger, client_id, endpoint, expires_in=300),
        "expired": private_key_jwt_sign(key, client_id, endpoint, issued_at=now - 900, expires_at=now - 600),
        "an hour long": private_key_jwt_sign(key, client_id, endpoint),
        "another client's assertion": private_key_jwt_sign(other_key, other.oauth_client_id, endpoint, expires_in=300),
    }
    for reason, assertion in refused.items():
        response = _post_token(site, _assertion_data(client_id, assertion))
        assert response.status_code == 401 and response.json()["error"] == "invalid_client", reason

    # A secret instead of an assertion (even DOT's own, which nobody was shown): invalid_client.
    response = _post_token(
        site, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "secret", "scope": SCOPE}
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"

    # A jti is used once.
    once = private_key_jwt_sign(key, client_id, endpoint, expires_in=300, claims={"jti": generate_token(24)})
    assert _post_token(site, _assertion_data(client_id, once)).status_code == 200
    replay = _post_token(site, _assertion_data(client_id, once))
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"

    # Scopes outside the document-sharing API, or the binding tag itself: invalid_scope, with a description.
    for scope in ("patient/Observation.rs", "system/Observation.rs", "system/*.*", f"software:{other.public_id}", ""):
        assertion = private_key_jwt_sign(key, client_id, endpoint, expires_in=300)
        response = _post_token(site, _assertion_data(client_id, assertion, scope=scope))
        assert response.status_code == 400 and response.json()["error"] == "invalid_scope", scope
        assert response.json()["error_description"]

    # Another grant than client credentials: refused.
    assertion = private_key_jwt_sign(key, client_id, endpoint, expires_in=300)
    data = {**_assertion_data(client_id, assertion), "grant_type": "authorization_code", "code": "x"}
    assert _post_token(site, data).status_code in (400, 401)

    # An inactive establishment: invalid_client.
    software.establishment.active = False
    software.establishment.save()
    assertion = private_key_jwt_sign(key, client_id, endpoint, expires_in=300)
    response = _post_token(site, _assertion_data(client_id, assertion))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_connected_service_may_not_use_client_credentials(site, personas):
    key = RSAKey.generate_key(2048, parameters={"kid": "svc"}, private=True)
    service = make_service()
    oauth_client_set(
        service=service,
        settings=ClientSettings(
            confidential=True, redirect_uris=[REDIRECT_URI], jwks={"keys": [key.as_dict(private=False)]}
        ),
        by=None,
    )
    service.refresh_from_db()
    endpoint = f"{site}/oauth/token/"
    assertion = private_key_jwt_sign(key, service.oauth_client_id, endpoint, expires_in=300)
    response = _post_token(site, _assertion_data(service.oauth_client_id, assertion, scope="patient/Observation.rs"))
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unauthorized_client", "invalid_client", "invalid_scope")
    assert not get_access_token_model().objects.filter(application__client_id=service.oauth_client_id).exists()


def _token_for(site, key, software) -> str:
    assertion = private_key_jwt_sign(key, software.oauth_client_id, f"{site}/oauth/token/", expires_in=300)
    response = _post_token(site, _assertion_data(software.oauth_client_id, assertion))
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def test_a_professional_software_acts_for_an_active_professional(site, personas):
    key = RSAKey.generate_key(2048, parameters={"kid": "pro"}, private=True)
    software = make_software(key, professional=personas.dr_martin, name="Logiciel du cabinet")
    token = _token_for(site, key, software)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    response = requests.get(f"{site}/api/v1/Observation", headers=headers, timeout=10)
    assert response.status_code == 403
    refusal = AuditEvent.objects.filter(action=Action.SOFTWARE_API_REFUSED).latest("pk")
    assert refusal.actor_user_id == personas.dr_martin.user_id and "CHU de Toulouse" in refusal.actor_label

    # The professional's account closed: their software's tokens no longer work, and it gets no more.
    personas.dr_martin.user.is_active = False
    personas.dr_martin.user.save()
    response = requests.get(f"{site}/api/v1/Observation", headers=headers, timeout=10)
    assert response.status_code == 403 and "n’est plus actif" in response.text
    assertion = private_key_jwt_sign(key, software.oauth_client_id, f"{site}/oauth/token/", expires_in=300)
    response = _post_token(site, _assertion_data(software.oauth_client_id, assertion))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_inactive_software_or_establishment_and_rotation_cut_tokens_off(site, personas):
    key = RSAKey.generate_key(2048, parameters={"kid": "chu-1"}, private=True)
    software = make_software(key)
    headers = {"Authorization": f"Bearer {_token_for(site, key, software)}", "Accept": "application/fhir+json"}
    software.establishment.active = False
    software.establishment.save()
    response = requests.get(f"{site}/api/v1/Observation", headers=headers, timeout=10)
    assert response.status_code == 401 and "établissement" in response.text
    software.establishment.active = True
    software.establishment.save()
    software.active = False
    software.save()
    assert requests.get(f"{site}/api/v1/Observation", headers=headers, timeout=10).status_code == 401
    software.active = True
    software.save()

    old_client_id = software.oauth_client_id
    software_client_rotate(software=software, by=None)
    software.refresh_from_db()
    assert software.oauth_client_id != old_client_id
    response = requests.get(f"{site}/api/v1/Observation", headers=headers, timeout=10)
    assert response.status_code == 401  # the old client's tokens are revoked
    assertion = private_key_jwt_sign(key, old_client_id, f"{site}/oauth/token/", expires_in=300)
    assert _post_token(site, _assertion_data(old_client_id, assertion)).status_code == 401
    assert _token_for(site, key, software)  # the new client_id works with the same keys


def test_the_authenticator_chain(client, personas):
    """No header: 401 login from the kernel; a token nobody knows: 401 unknown_token."""
    response = client.get("/api/v1/Observation", HTTP_ACCEPT="application/fhir+json")
    assert response.status_code == 401 and "manquant" in response.json()["issue"][0]["diagnostics"]
    response = client.get(
        "/api/v1/Observation", HTTP_ACCEPT="application/fhir+json", HTTP_AUTHORIZATION="Bearer inconnu"
    )
    assert response.status_code == 401 and "inconnu" in response.json()["issue"][0]["diagnostics"]


def test_a_software_token_without_its_client(personas, client):
    """A token tagged for a software client under another Application is not accepted."""
    import datetime
    import hashlib

    from django.utils import timezone
    from oauth2_provider.models import get_application_model

    key = RSAKey.generate_key(2048, private=True)
    software = make_software(key)
    Application = get_application_model()
    other = Application.objects.create(
        name="autre",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    raw = "jeton-forge"
    get_access_token_model().objects.create(
        application=other,
        token=raw,
        token_checksum=hashlib.sha256(raw.encode()).hexdigest(),
        scope=f"system/DocumentReference.rs {software.scope_tag}",
        expires=timezone.now() + datetime.timedelta(minutes=5),
    )
    response = client.get(
        "/api/v1/Observation", HTTP_ACCEPT="application/fhir+json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 401
